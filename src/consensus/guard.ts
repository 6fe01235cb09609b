import type { Entry, EntryKind, Message, MessageType, Snapshot } from "./types.ts";

/**
 * Checks, at the trust boundary, that a value decoded from the network is a well-formed Message,
 * so that malformed input is refused with a TypeError/RangeError instead of reaching the core's
 * assertions (which crash the process on purpose). Returns the value typed; never copies it.
 */
export function checkMessage(value: unknown): Message {
  const m = record(value, "message");
  const type = m.type as MessageType;
  if (!messageTypes.has(type)) throw new TypeError(`message: unknown type ${String(m.type)}`);
  text(m.from, "message.from");
  text(m.to, "message.to");
  index(m.term, "message.term");
  const check = fieldChecks[type];
  check(m);
  return value as Message;
}

const messageTypes = new Set<MessageType>([
  "MsgApp",
  "MsgAppResp",
  "MsgVote",
  "MsgPreVote",
  "MsgVoteResp",
  "MsgPreVoteResp",
  "MsgHeartbeat",
  "MsgHeartbeatResp",
  "MsgSnap",
  "MsgTimeoutNow",
]);

const entryKinds = new Set<EntryKind>(["data", "signature", "reconfiguration"]);

const fieldChecks: Record<MessageType, (m: Record<string, unknown>) => void> = {
  MsgApp: (m) => {
    index(m.prevIndex, "MsgApp.prevIndex");
    index(m.prevTerm, "MsgApp.prevTerm");
    index(m.commit, "MsgApp.commit");
    if (!Array.isArray(m.entries)) throw new TypeError("MsgApp.entries must be an array");
    m.entries.forEach((e, k) => {
      checkEntry(e, `MsgApp.entries[${k}]`);
    });
  },
  MsgAppResp: (m) => {
    index(m.index, "MsgAppResp.index");
    flag(m.reject, "MsgAppResp.reject");
    index(m.conflictTerm, "MsgAppResp.conflictTerm");
    index(m.conflictIndex, "MsgAppResp.conflictIndex");
  },
  MsgVote: (m) => checkVote(m),
  MsgPreVote: (m) => checkVote(m),
  MsgVoteResp: (m) => checkVoteResp(m),
  MsgPreVoteResp: (m) => checkVoteResp(m),
  MsgHeartbeat: (m) => index(m.commit, "MsgHeartbeat.commit"),
  MsgHeartbeatResp: () => {},
  MsgSnap: (m) => checkSnapshot(m.snapshot),
  MsgTimeoutNow: () => {},
};

function checkVote(m: Record<string, unknown>): void {
  index(m.lastIndex, "vote.lastIndex");
  index(m.lastTerm, "vote.lastTerm");
  flag(m.force, "vote.force");
}

function checkVoteResp(m: Record<string, unknown>): void {
  flag(m.reject, "vote response.reject");
  index(m.commit, "vote response.commit");
  index(m.commitTerm, "vote response.commitTerm");
}

function checkEntry(value: unknown, where: string): Entry {
  const e = record(value, where);
  index(e.index, `${where}.index`);
  index(e.term, `${where}.term`);
  if (!entryKinds.has(e.kind as EntryKind)) throw new TypeError(`${where}.kind is not an entry kind`);
  if (!(e.payload instanceof Uint8Array)) throw new TypeError(`${where}.payload must be a Uint8Array`);
  if (e.kind === "reconfiguration") members(e.configuration, `${where}.configuration`);
  else if (e.configuration !== undefined)
    throw new TypeError(`${where}.configuration only on reconfiguration`);
  return value as Entry;
}

function checkSnapshot(value: unknown): Snapshot {
  const s = record(value, "MsgSnap.snapshot");
  const meta = record(s.meta, "MsgSnap.snapshot.meta");
  index(meta.index, "MsgSnap.snapshot.meta.index");
  index(meta.term, "MsgSnap.snapshot.meta.term");
  members(meta.configuration, "MsgSnap.snapshot.meta.configuration");
  if (!(s.payload instanceof Uint8Array))
    throw new TypeError("MsgSnap.snapshot.payload must be a Uint8Array");
  return value as Snapshot;
}

function record(value: unknown, where: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null) throw new TypeError(`${where} must be an object`);
  return value as Record<string, unknown>;
}
function text(value: unknown, where: string): void {
  if (typeof value !== "string" || value.length === 0)
    throw new TypeError(`${where} must be a non-empty string`);
}
function index(value: unknown, where: string): void {
  if (typeof value !== "number") throw new TypeError(`${where} must be a number`);
  if (!Number.isSafeInteger(value) || value < 0)
    throw new RangeError(`${where} must be a non-negative integer`);
}
function flag(value: unknown, where: string): void {
  if (typeof value !== "boolean") throw new TypeError(`${where} must be a boolean`);
}
function members(value: unknown, where: string): void {
  if (!Array.isArray(value) || value.length === 0) throw new TypeError(`${where} must be a non-empty array`);
  for (const id of value) text(id, `${where}[]`);
  if (new Set(value).size !== value.length) throw new RangeError(`${where} has duplicate node ids`);
}
