/** A tiny caller for unit tests: one RawNode over a MemoryStorage, following the Ready contract. */
import {
  type Entry,
  MemoryStorage,
  type Message,
  type NodeId,
  type RaftConfigInput,
  RawNode,
  type Ready,
  seededRandom,
} from "../../../src/consensus/index.ts";

export type TestNode = { raw: RawNode; storage: MemoryStorage; committed: Entry[] };

export function makeNode(
  id: NodeId,
  configuration: readonly NodeId[],
  config: Partial<RaftConfigInput> = {},
  storage = new MemoryStorage(),
): TestNode {
  const raw = new RawNode({
    config: { electionTimeoutTicks: 10, ...config, id, initialConfiguration: configuration },
    storage,
    random: seededRandom(7),
  });
  return { raw, storage, committed: [] };
}

/** Handles one Ready the way a correct caller does and returns it. */
export function handle(node: TestNode): Ready {
  const rd = node.raw.ready();
  if (rd.snapshot !== null) node.storage.applySnapshot(rd.snapshot);
  if (rd.rollbackTo !== null) node.storage.truncateAfter(rd.rollbackTo);
  node.storage.append(rd.entries);
  if (rd.hardState !== null) node.storage.setHardState(rd.hardState);
  node.committed.push(...rd.committedEntries);
  node.raw.advance(rd);
  return rd;
}

/** Handles Readies until quiet; returns every message sent. */
export function drain(node: TestNode): Message[] {
  const out: Message[] = [];
  for (let k = 0; k < 32 && node.raw.hasReady(); k++) out.push(...handle(node).messages);
  return out;
}

export const bytes = (text: string) => new TextEncoder().encode(text);

/** A node of a 3-node cluster that is leader of term 1 with followers 2 and 3 caught up at 0. */
export function makeLeader(config: Partial<RaftConfigInput> = {}): TestNode {
  const node = makeNode("1", ["1", "2", "3"], config);
  node.raw.campaign();
  drain(node);
  for (const from of ["2", "3"]) {
    node.raw.step({
      type: "MsgPreVoteResp",
      from,
      to: "1",
      term: 1,
      reject: false,
      commit: 0,
      commitTerm: 0,
    });
  }
  drain(node);
  for (const from of ["2", "3"]) {
    node.raw.step({ type: "MsgVoteResp", from, to: "1", term: 1, reject: false, commit: 0, commitTerm: 0 });
  }
  drain(node);
  for (const from of ["2", "3"]) {
    node.raw.step({
      type: "MsgAppResp",
      from,
      to: "1",
      term: 1,
      index: 0,
      reject: false,
      conflictTerm: 0,
      conflictIndex: 0,
    });
  }
  drain(node);
  return node;
}

export function entry(index: number, term: number, kind: Entry["kind"] = "data"): Entry {
  return { index, term, kind, payload: bytes(`${kind}${index}`) };
}
