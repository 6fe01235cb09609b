import type { NodeId } from "./types.ts";

/**
 * Deliberately planted bugs, used only to prove that the simulator finds them (its canaries).
 * `commit-previous-term`: the leader commits a signature of an earlier term counted on a quorum
 * (Figure 8 of the Raft paper shows why that loses committed entries).
 * `single-quorum`: during a reconfiguration only the newest configuration's quorum is counted.
 * `persisted-any-term`: a leader counts its own copy on a `persisted()` notice from an earlier
 * term, whose flush covered other entries at those indexes (or none of this term's).
 * `unsynced-counts`: a Ready that asked for no sync counts a leader's unsynced entries as durable.
 */
export type Canary = "commit-previous-term" | "single-quorum" | "persisted-any-term" | "unsynced-counts";

/** What the caller may set; `validateConfig` fills the rest. */
export type RaftConfigInput = {
  id: NodeId;
  /** The voters before the first reconfiguration entry, used when storage holds no snapshot. */
  initialConfiguration: readonly NodeId[];
  electionTimeoutTicks?: number;
  heartbeatIntervalTicks?: number;
  /** Entries per MsgApp are cut at this many bytes (at least one entry is always sent). */
  appendBytesMax?: number;
  /** MsgApp messages in flight to one follower in replicate state. */
  inflightMessagesMax?: number;
  /** Entry bytes in flight to one follower in replicate state. */
  inflightBytesMax?: number;
  /** The leader refuses proposals while lastIndex - commit reaches this. */
  uncommittedEntriesMax?: number;
  /** Bytes of committed entries handed out in one Ready (at least one entry is always handed). */
  committedBytesMax?: number;
  /** Ticks a leader waits for a snapshot to be acknowledged before probing the follower again. */
  snapshotTimeoutTicks?: number;
  preVote?: boolean;
  checkQuorum?: boolean;
  canary?: Canary;
};

export type RaftConfig = Required<Omit<RaftConfigInput, "canary">> & { canary: Canary | null };

const defaults = {
  electionTimeoutTicks: 10,
  heartbeatIntervalTicks: 1,
  appendBytesMax: 1024 * 1024,
  inflightMessagesMax: 256,
  inflightBytesMax: 32 * 1024 * 1024,
  uncommittedEntriesMax: 100_000,
  committedBytesMax: 4 * 1024 * 1024,
  snapshotTimeoutTicks: 50,
  preVote: true,
  checkQuorum: true,
} as const;

function positiveInteger(name: string, value: number): number {
  if (typeof value !== "number") throw new TypeError(`consensus config: ${name} must be a number`);
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`consensus config: ${name} must be a positive integer, got ${value}`);
  }
  return value;
}

/**
 * Fills defaults and rejects nonsense once, at start-up, so the core can trust its limits.
 * Throws TypeError for a wrong type and RangeError for a value out of range or limits that
 * contradict each other (e.g. a heartbeat interval not below the election timeout).
 */
export function validateConfig(input: RaftConfigInput): RaftConfig {
  if (typeof input.id !== "string" || input.id.length === 0) {
    throw new TypeError("consensus config: id must be a non-empty string");
  }
  if (!Array.isArray(input.initialConfiguration)) {
    throw new TypeError("consensus config: initialConfiguration must be an array of node ids");
  }
  if (new Set(input.initialConfiguration).size !== input.initialConfiguration.length) {
    throw new RangeError("consensus config: initialConfiguration has duplicate node ids");
  }
  const merged = { ...defaults, ...stripUndefined(input) };
  const config: RaftConfig = {
    id: input.id,
    initialConfiguration: [...input.initialConfiguration],
    electionTimeoutTicks: positiveInteger("electionTimeoutTicks", merged.electionTimeoutTicks),
    heartbeatIntervalTicks: positiveInteger("heartbeatIntervalTicks", merged.heartbeatIntervalTicks),
    appendBytesMax: positiveInteger("appendBytesMax", merged.appendBytesMax),
    inflightMessagesMax: positiveInteger("inflightMessagesMax", merged.inflightMessagesMax),
    inflightBytesMax: positiveInteger("inflightBytesMax", merged.inflightBytesMax),
    uncommittedEntriesMax: positiveInteger("uncommittedEntriesMax", merged.uncommittedEntriesMax),
    committedBytesMax: positiveInteger("committedBytesMax", merged.committedBytesMax),
    snapshotTimeoutTicks: positiveInteger("snapshotTimeoutTicks", merged.snapshotTimeoutTicks),
    preVote: Boolean(merged.preVote),
    checkQuorum: Boolean(merged.checkQuorum),
    canary: input.canary ?? null,
  };
  checkRelations(config);
  return config;
}

function checkRelations(config: RaftConfig): void {
  if (config.heartbeatIntervalTicks >= config.electionTimeoutTicks) {
    throw new RangeError(
      `consensus config: heartbeatIntervalTicks (${config.heartbeatIntervalTicks}) must be below ` +
        `electionTimeoutTicks (${config.electionTimeoutTicks})`,
    );
  }
  if (config.inflightBytesMax < config.appendBytesMax) {
    throw new RangeError("consensus config: inflightBytesMax must be at least appendBytesMax");
  }
  if (config.snapshotTimeoutTicks < config.electionTimeoutTicks) {
    throw new RangeError("consensus config: snapshotTimeoutTicks must be at least electionTimeoutTicks");
  }
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
