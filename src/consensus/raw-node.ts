import { assert } from "../util/assert.ts";
import { type RaftConfig, type RaftConfigInput, validateConfig } from "./config.ts";
import { campaign } from "./election.ts";
import { Raft } from "./raft.ts";
import { bcastAppend, maybeCommit, sendAppend, sendTimeoutNow } from "./replication.ts";
import type { Storage } from "./storage.ts";
import type {
  Entry,
  EntryProposal,
  HardState,
  Message,
  NodeId,
  ProposeResult,
  Ready,
  SoftState,
} from "./types.ts";

export type RawNodeOptions = {
  config: RaftConfigInput;
  storage: Storage;
  /** Uniform in [0, 1); the only randomness the core uses (election timeout jitter). Seed it. */
  random: () => number;
  /** Highest index the caller's state already reflects; defaults to the storage snapshot index. */
  applied?: number;
};

/** The cheap part of the node's state (no allocation beyond the record), for every request. */
export type BasicStatus = {
  id: NodeId;
  term: number;
  vote: NodeId | null;
  role: SoftState["role"];
  leader: NodeId | null;
  commit: number;
  lastIndex: number;
};

/** A read-only picture of the node, for routing, metrics and tests. */
export type Status = BasicStatus & {
  lastSignature: number;
  configurations: readonly (readonly NodeId[])[];
  progress: ReadonlyMap<NodeId, { state: string; match: number; next: number }>;
};

/**
 * The consensus core's public face, modelled on etcd's RawNode: `tick`, `step`, `propose`,
 * `transferLeadership` feed it; `ready` and `advance` hand its decisions to the caller (see `Ready`
 * for the order the caller must follow). Pure and deterministic: no I/O, no timers, no clock.
 */
export class RawNode {
  readonly config: RaftConfig;
  readonly #raft: Raft;
  #soft: SoftState;
  #hard: HardState;
  #readyOutstanding = false;

  constructor(options: RawNodeOptions) {
    this.config = validateConfig(options.config);
    this.#raft = new Raft(this.config, options.storage, options.random, options.applied ?? null);
    this.#soft = this.#softState();
    this.#hard = this.#hardState();
  }

  /** Advances logical time by one tick (elections, heartbeats, CheckQuorum, snapshot retries). */
  tick(): void {
    this.#assertIdle();
    this.#raft.tick();
  }

  /** Feeds a message received from another node. */
  step(message: Message): void {
    this.#assertIdle();
    this.#raft.step(message);
  }

  /**
   * Leader only: appends an entry and assigns its index (seqno) and term (view). Entries proposed
   * between two `ready()` calls travel in the same MsgApp batch. A new leader should propose a
   * signature at once: nothing commits before a signature of its own term is on a quorum.
   */
  propose(proposal: EntryProposal): ProposeResult {
    this.#assertIdle();
    const r = this.#raft;
    const refuse = (reason: Exclude<ProposeResult, { ok: true }>["reason"]): ProposeResult => ({
      ok: false,
      reason,
      leader: r.leader,
    });
    if (r.role !== "leader") return refuse("not-leader");
    if (r.leadTransferee !== null) return refuse("leadership-transfer");
    if (r.log.lastIndex() - r.log.committed >= this.config.uncommittedEntriesMax) {
      return refuse("uncommitted-entries-max");
    }
    const configuration = proposal.configuration;
    if (proposal.kind === "reconfiguration") {
      if (configuration === undefined || configuration.length === 0) return refuse("invalid-configuration");
      if (new Set(configuration).size !== configuration.length) return refuse("invalid-configuration");
      if (r.log.configurations.pendingIndex() !== null) return refuse("reconfiguration-pending");
    } else if (configuration !== undefined) {
      return refuse("invalid-configuration");
    }
    const entry: Entry = {
      index: r.log.lastIndex() + 1,
      term: r.term,
      kind: proposal.kind,
      payload: proposal.payload,
    };
    if (configuration !== undefined) entry.configuration = [...configuration];
    r.log.append([entry]);
    if (entry.kind === "reconfiguration") r.syncProgress();
    r.appendPending = true;
    return { ok: true, index: entry.index, term: entry.term };
  }

  /**
   * Starts an election now instead of waiting for the election timeout (with PreVote when enabled).
   * For bootstrapping a service and for tests; false when this node is not a voter or already leads.
   */
  campaign(): boolean {
    this.#assertIdle();
    const r = this.#raft;
    if (r.role === "leader" || !r.promotable()) return false;
    campaign(r, "election");
    return true;
  }

  /** Leader only: hands leadership to `to` (a voter of the newest configuration). False if refused. */
  transferLeadership(to: NodeId): boolean {
    this.#assertIdle();
    const r = this.#raft;
    if (r.role !== "leader" || to === r.id || !r.log.configurations.latest().includes(to)) return false;
    r.leadTransferee = to;
    r.electionElapsedTicks = 0;
    const pr = r.progress.get(to);
    if (pr !== undefined && pr.match === r.log.lastIndex()) sendTimeoutNow(r, to);
    else sendAppend(r, to, true);
    return true;
  }

  hasReady(): boolean {
    const r = this.#raft;
    const log = r.log;
    return (
      r.messages.length > 0 ||
      r.appendPending ||
      log.unstable.length > 0 ||
      log.pendingSnapshot !== null ||
      log.rollbackTo !== null ||
      log.emitted < log.committed ||
      !sameSoft(this.#soft, this.#softState()) ||
      !sameHard(this.#hard, this.#hardState())
    );
  }

  /** Collects what the caller must do now. Call `advance(ready)` when done, before any other verb. */
  ready(): Ready {
    this.#assertIdle();
    const r = this.#raft;
    const log = r.log;
    if (r.appendPending && r.role === "leader") bcastAppend(r);
    r.appendPending = false;
    const soft = this.#softState();
    const hard = this.#hardState();
    const hardChanged = !sameHard(this.#hard, hard);
    const committedEntries =
      log.emitted < log.committed
        ? log.slice(log.emitted + 1, log.committed + 1, this.config.committedBytesMax)
        : [];
    const lastCommitted = committedEntries[committedEntries.length - 1];
    assert(
      lastCommitted === undefined ||
        lastCommitted.index < log.committed ||
        lastCommitted.kind === "signature",
      "committed entries end at a signature",
    );
    const ready: Ready = {
      softState: sameSoft(this.#soft, soft) ? null : soft,
      hardState: hardChanged ? hard : null,
      snapshot: log.pendingSnapshot,
      rollbackTo: log.rollbackTo,
      entries: [...log.unstable],
      mustSync: false,
      messages: r.messages,
      committedEntries,
    };
    ready.mustSync =
      ready.entries.length > 0 ||
      ready.snapshot !== null ||
      ready.rollbackTo !== null ||
      (hardChanged && (hard.term !== this.#hard.term || hard.vote !== this.#hard.vote));
    r.messages = [];
    this.#soft = soft;
    this.#hard = hard;
    this.#readyOutstanding = true;
    return ready;
  }

  /**
   * Tells the core the caller has done everything `ready` asked and Storage reflects it. With
   * `durable: false` a leader has not waited for step 5 (see `Ready`): its own entries count
   * towards a commit only from `persisted()`. A Ready that did not ask for a sync (`mustSync`
   * false) makes nothing durable either way: the entries of an earlier `durable: false` Ready may
   * still be on their way to the disk, so the leader's own copy is not counted from it.
   */
  advance(ready: Ready, options: { durable: boolean } = { durable: true }): void {
    assert(this.#readyOutstanding, "advance() without a ready()");
    this.#readyOutstanding = false;
    const r = this.#raft;
    if (!options.durable) {
      assert(
        r.role === "leader" && ready.snapshot === null && ready.rollbackTo === null,
        "only a leader's appends may be made durable after advance()",
      );
    }
    const log = r.log;
    const storage = log.storage;
    if (ready.snapshot !== null) {
      assert(storage.firstIndex() - 1 === ready.snapshot.meta.index, "caller installed the snapshot");
      log.pendingSnapshot = null;
    }
    log.rollbackTo = null;
    const last = ready.entries[ready.entries.length - 1];
    if (last !== undefined) {
      assert(storage.term(last.index) === last.term, () => `caller persisted entries up to ${last.index}`);
      log.unstable = [];
    }
    assert(storage.lastIndex() === log.lastIndex(), "persisted log matches the core's log after advance");
    const lastCommitted = ready.committedEntries[ready.committedEntries.length - 1];
    if (lastCommitted !== undefined) log.emitted = lastCommitted.index;
    if (!options.durable || (!ready.mustSync && r.config.canary !== "unsynced-counts")) return;
    const self = r.role === "leader" ? r.progress.get(r.id) : undefined;
    if (self?.maybeUpdate(storage.lastIndex())) maybeCommit(r);
  }

  /**
   * A leader's entries up to `index`, appended while it led in `term`, are durable: from now on
   * they count towards a commit (after `advance(ready, { durable: false })`). Ignored once this
   * node no longer leads in `term`: what it appended since is durable before it can vote or lead
   * again (those Readies change term or vote, and wait for their flush).
   */
  persisted(index: number, term: number): void {
    this.#assertIdle();
    const r = this.#raft;
    if (r.role !== "leader" || (r.term !== term && r.config.canary !== "persisted-any-term")) return;
    const self = r.progress.get(r.id);
    if (self?.maybeUpdate(Math.min(index, r.log.stableLast()))) maybeCommit(r);
  }

  basicStatus(): BasicStatus {
    const r = this.#raft;
    return {
      id: r.id,
      term: r.term,
      vote: r.vote,
      role: r.role,
      leader: r.leader,
      commit: r.log.committed,
      lastIndex: r.log.lastIndex(),
    };
  }

  status(): Status {
    const r = this.#raft;
    const progress = new Map<NodeId, { state: string; match: number; next: number }>();
    for (const [id, pr] of r.progress) progress.set(id, { state: pr.state, match: pr.match, next: pr.next });
    return {
      ...this.basicStatus(),
      lastSignature: r.log.lastSignature(),
      configurations: r.log.configurations.active(),
      progress,
    };
  }

  /** Entries [lo, hi) of the core's current log (persisted or not), for diagnostics and tests. */
  entries(lo: number, hi: number): Entry[] {
    const log = this.#raft.log;
    if (lo >= hi) return [];
    return log.slice(lo, hi, Number.MAX_SAFE_INTEGER);
  }
  firstIndex(): number {
    return this.#raft.log.firstIndex();
  }

  #assertIdle(): void {
    assert(!this.#readyOutstanding, "no input between ready() and advance()");
  }
  #softState(): SoftState {
    return { role: this.#raft.role, leader: this.#raft.leader };
  }
  #hardState(): HardState {
    return { term: this.#raft.term, vote: this.#raft.vote, commit: this.#raft.log.committed };
  }
}

function sameSoft(a: SoftState, b: SoftState): boolean {
  return a.role === b.role && a.leader === b.leader;
}
function sameHard(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}
