/** The consensus core: Raft as a pure state machine. See README.md and docs/consensus.md. */
export type { Canary, RaftConfig, RaftConfigInput } from "./config.ts";
export { validateConfig } from "./config.ts";
export { describeEntry, describeMessage } from "./describe.ts";
export { checkMessage } from "./guard.ts";
export { seededRandom } from "./random.ts";
export type { BasicStatus, RawNodeOptions, Status } from "./raw-node.ts";
export { RawNode } from "./raw-node.ts";
export type { Storage } from "./storage.ts";
export { emptySnapshot, entryBytes, MemoryStorage } from "./storage.ts";
export type {
  Entry,
  EntryKind,
  EntryProposal,
  HardState,
  Message,
  MessageType,
  MsgApp,
  MsgAppResp,
  MsgHeartbeat,
  MsgHeartbeatResp,
  MsgSnap,
  MsgTimeoutNow,
  MsgVote,
  MsgVoteResp,
  NodeId,
  ProposeRefusal,
  ProposeResult,
  Ready,
  Role,
  Snapshot,
  SnapshotMeta,
  SoftState,
} from "./types.ts";
