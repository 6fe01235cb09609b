/**
 * The data the consensus core exchanges with its caller: entries, messages, persistent and volatile
 * state. Everything here is a plain record so that a `Ready` can be inspected, rendered and compared
 * in tests. Arrays handed to the caller belong to the caller once handed; the core never mutates an
 * array or payload after it has placed it in a `Ready` or a message.
 */

/** A node's identity, stable across restarts (the node integration uses the node certificate digest). */
export type NodeId = string;

/** What an entry is, which decides its role in consensus. Only `signature` entries are commit points. */
export type EntryKind = "data" | "signature" | "reconfiguration";

/** What the caller proposes; the leader assigns `index` (the seqno) and `term` (the view). */
export type EntryProposal = {
  kind: EntryKind;
  payload: Uint8Array;
  /** Required for `reconfiguration` (the complete new set of voters), absent otherwise. */
  configuration?: readonly NodeId[];
};

/** A log entry. `index` is the transaction seqno (the first is 1) and `term` its view. */
export type Entry = {
  index: number;
  term: number;
  kind: EntryKind;
  payload: Uint8Array;
  configuration?: readonly NodeId[];
};

/** State that must be on disk before any message of the same `Ready` is sent. */
export type HardState = { term: number; vote: NodeId | null; commit: number };

export type Role = "follower" | "pre-candidate" | "candidate" | "leader";

/** Volatile state, reported when it changes; never needs persisting. */
export type SoftState = { role: Role; leader: NodeId | null };

/** Describes the state a snapshot captures: everything up to and including `index` (a signature). */
export type SnapshotMeta = { index: number; term: number; configuration: readonly NodeId[] };

/** A snapshot: its metadata plus an opaque payload only the caller understands. */
export type Snapshot = { meta: SnapshotMeta; payload: Uint8Array };

type MessageBase = { from: NodeId; to: NodeId; term: number };

/** AppendEntries: `entries` follow (prevIndex, prevTerm); also carries the leader's commit index. */
export type MsgApp = MessageBase & {
  type: "MsgApp";
  prevIndex: number;
  prevTerm: number;
  entries: readonly Entry[];
  commit: number;
};

/**
 * Reply to MsgApp or MsgSnap. On success `index` is the last index now known to match the leader.
 * On reject `index` is the rejected prevIndex and (conflictTerm, conflictIndex) let the leader skip a
 * whole term at once: conflictTerm is the follower's term at prevIndex (0 when its log is shorter)
 * and conflictIndex the first index of that term in its log (its lastIndex + 1 when shorter).
 */
export type MsgAppResp = MessageBase & {
  type: "MsgAppResp";
  index: number;
  reject: boolean;
  conflictTerm: number;
  conflictIndex: number;
};

/** RequestVote or PreVote. `force` marks a campaign started by leadership transfer (ignores leases). */
export type MsgVote = MessageBase & {
  type: "MsgVote" | "MsgPreVote";
  lastIndex: number;
  lastTerm: number;
  force: boolean;
};

/**
 * Answer to a (pre-)vote. `commit`/`commitTerm` are the voter's commit index and the term there: a
 * candidate holding that same entry learns that its prefix up to it is committed. This lets a node
 * that missed the commit of its reconfiguration stop waiting for votes of a retired configuration.
 */
export type MsgVoteResp = MessageBase & {
  type: "MsgVoteResp" | "MsgPreVoteResp";
  reject: boolean;
  commit: number;
  commitTerm: number;
};

/** Keeps followers from campaigning; `commit` is min(follower match, leader commit). */
export type MsgHeartbeat = MessageBase & { type: "MsgHeartbeat"; commit: number };
export type MsgHeartbeatResp = MessageBase & { type: "MsgHeartbeatResp" };

/** InstallSnapshot: sent to a follower whose next entry the leader no longer holds. */
export type MsgSnap = MessageBase & { type: "MsgSnap"; snapshot: Snapshot };

/** Leadership transfer: the receiver campaigns at once, skipping PreVote and leases. */
export type MsgTimeoutNow = MessageBase & { type: "MsgTimeoutNow" };

export type Message =
  | MsgApp
  | MsgAppResp
  | MsgVote
  | MsgVoteResp
  | MsgHeartbeat
  | MsgHeartbeatResp
  | MsgSnap
  | MsgTimeoutNow;

export type MessageType = Message["type"];

/**
 * Everything the caller must do after an input, in this order:
 *
 *  1. If `snapshot` is set, install it: replace the whole persisted log with it.
 *  2. If `rollbackTo` is set, delete every persisted entry with index > rollbackTo.
 *  3. Append `entries` (their first index is always lastIndex + 1 after steps 1-2).
 *  4. Persist `hardState` if set.
 *  5. If `mustSync`, fsync (fdatasync) everything written in 1-4.
 *  6. Only now send `messages` (votes and acknowledgements promise that 1-5 are durable). One
 *     exception: a leader whose Ready changes neither term nor vote may send its MsgApp, MsgHeartbeat
 *     and MsgSnap before 5 (Raft thesis §10.2.1), because its own entries count towards a commit
 *     only from `advance()`; followers then persist in parallel with the leader.
 *  7. Apply `committedEntries` in order (and, when `snapshot` is set, the snapshot before them).
 *     Rolled-back entries were never committed; the caller discards any state derived from them.
 *  8. Make the new state visible through `Storage`, then call `advance(ready)`.
 *
 * A leader need not wait for step 5 at all when its Ready has no snapshot and no rollback, changes
 * neither term nor vote, and its messages are all of the kinds above: it calls
 * `advance(ready, { durable: false })` without waiting, and `persisted(index, term)` once what it
 * appended up to `index` is durable. Until then its own entries do not count towards a commit, so
 * a quorum of followers alone can commit them (Raft thesis §10.2.1), and its loop goes on handling
 * acknowledgements and proposals while its disk works.
 *
 * No `tick`, `step` or `propose` may be called between `ready()` and `advance()`; queue inputs that
 * arrive while persisting. `softState` is informational (for routing and for the caller to propose
 * a signature entry at once when it becomes leader).
 */
export type Ready = {
  softState: SoftState | null;
  hardState: HardState | null;
  snapshot: Snapshot | null;
  rollbackTo: number | null;
  entries: readonly Entry[];
  mustSync: boolean;
  messages: readonly Message[];
  committedEntries: readonly Entry[];
};

/** Why `propose` refused an entry. The caller redirects to `leader` or retries later. */
export type ProposeRefusal =
  | "not-leader"
  | "leadership-transfer"
  | "reconfiguration-pending"
  | "uncommitted-entries-max"
  | "invalid-configuration";

export type ProposeResult =
  | { ok: true; index: number; term: number }
  | { ok: false; reason: ProposeRefusal; leader: NodeId | null };
