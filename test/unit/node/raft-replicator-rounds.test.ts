// How the replicator spends rounds: transaction proposals wait for the signature that commits them
// (one AppendEntries per peer per signature), and a leader sends AppendEntries before its own
// flush while a follower acknowledges only after its flush. Ticks are slow (1 s) and node 0 is
// made leader by `campaign`, so no timer moves anything during a test.
import assert from "node:assert/strict";
import { afterEach, test } from "node:test";
import type { Message, MsgApp } from "../../../src/consensus/index.ts";
import { Cluster, type Node, until, write } from "./raft-fixture.ts";

let cluster: Cluster | null = null;
afterEach(async () => {
  await cluster?.close();
  cluster = null;
});

const slow = { tickMs: 1000, signatureIntervalTxs: 1000, signatureIntervalMs: 60_000 };

/**
 * Makes node 0 leader and waits until every follower has acknowledged it. Until a follower answers
 * the new leader's first (empty) AppendEntries, the leader only probes it: a test that then gates
 * the leader's flush would stall its consensus loop before the entries could be sent to that
 * follower (seen once in a full run on a loaded machine).
 */
async function leaderOf(c: Cluster): Promise<Node> {
  const leader = c.nodes[0] as Node;
  const acknowledged = new Set<string>();
  c.onSend = (m) => {
    if (m.type === "MsgAppResp" && m.to === leader.id && !m.reject) acknowledged.add(m.from);
  };
  leader.replicator.campaign();
  await until(() => leader.engine.isPrimary, "node 0 leads");
  await until(() => acknowledged.size === c.nodes.length - 1, "every follower acknowledged the leader");
  c.onSend = () => {};
  return leader;
}

/** Makes `node`'s ledger flushes wait until the returned function is called. */
function gateFlushes(node: Node): () => void {
  const flush = node.ledger.flush.bind(node.ledger);
  let open!: () => void;
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  node.ledger.flush = async () => {
    await gate;
    return flush();
  };
  return open;
}

const carriesEntries = (m: Message): m is MsgApp => m.type === "MsgApp" && m.entries.length > 0;
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

for (const holdBytesMax of [0, 1 << 20]) {
  test(`holdBytesMax ${holdBytesMax}: transaction proposals ${holdBytesMax ? "wait for" : "do not wait for"} the signature`, async () => {
    cluster = await Cluster.create(3, { ...slow, holdBytesMax });
    const leader = await leaderOf(cluster);
    const followers = cluster.nodes.filter((n) => n !== leader);
    const sent: MsgApp[] = [];
    cluster.onSend = (m) => {
      if (carriesEntries(m)) sent.push(m);
    };
    const ids = [];
    for (let i = 0; i < 5; i++) ids.push((await write(leader, `k${i}`)).txId);
    await pause(100);
    if (holdBytesMax === 0) {
      await until(() => followers.every((f) => f.ledger.lastSeqno === 5), "followers have each write");
      assert.ok(sent.length >= 2, "entries left before any signature");
    } else {
      assert.equal(sent.length, 0, "no entry leaves before its signature");
      assert.ok(followers.every((f) => f.ledger.lastSeqno === 0));
    }
    sent.length = 0;
    leader.engine.appendSignature();
    const last = leader.ledger.lastSeqno;
    await until(() => followers.every((f) => f.ledger.lastSeqno === last), "followers have the signature");
    for (const id of ids) assert.equal(await leader.engine.waitForCommit(id!, 5000), "Committed");
    if (holdBytesMax !== 0) {
      assert.equal(sent.length, 2, "one AppendEntries per follower carries the signature's round");
      for (const m of sent)
        assert.deepEqual(
          m.entries.map((e) => e.index),
          [1, 2, 3, 4, 5, 6],
        );
    }
    assert.deepEqual(cluster.failures, []);
  });
}

test("holdBytesMax: proposals are released once that many bytes wait", async () => {
  cluster = await Cluster.create(3, { ...slow, holdBytesMax: 1 });
  const leader = await leaderOf(cluster);
  await write(leader, "k");
  await until(() => cluster!.nodes.every((n) => n.ledger.lastSeqno === 1), "the write leaves at once");
});

// The write and its signature travel in one round (held), so one gated flush covers both.
const oneRound = { ...slow, holdBytesMax: 1 << 20 };

test("a leader sends AppendEntries before its own flush, and counts itself only once the flush returns", async () => {
  cluster = await Cluster.create(3, oneRound);
  const leader = await leaderOf(cluster);
  const [slowFollower, follower] = cluster.nodes.filter((n) => n !== leader) as [Node, Node];
  const openLeader = gateFlushes(leader);
  const openFollower = gateFlushes(slowFollower);
  try {
    const { txId } = await write(leader, "early");
    leader.engine.appendSignature();
    const last = leader.ledger.lastSeqno;
    await until(
      () => [slowFollower, follower].every((f) => f.ledger.lastSeqno === last),
      "followers get entries first",
      10_000,
    );
    await pause(50);
    assert.ok(
      leader.engine.committedSeqno < last,
      "one durable copy of three: nothing commits while the leader's flush is pending",
    );
    openLeader();
    assert.equal(await leader.engine.waitForCommit(txId!, 5000), "Committed", "the leader and one follower");
    assert.ok(slowFollower.ledger.files.durableSeqno < last, "without the gated follower");
  } finally {
    openLeader();
    openFollower();
  }
  assert.deepEqual(cluster.failures, []);
});

test("a quorum of followers commits while the leader's own flush is still pending", async () => {
  cluster = await Cluster.create(3, oneRound);
  const leader = await leaderOf(cluster);
  const open = gateFlushes(leader);
  try {
    const { txId } = await write(leader, "quorum");
    leader.engine.appendSignature();
    const last = leader.ledger.lastSeqno;
    // The leader's consensus loop does not wait for its disk: it takes both acknowledgements.
    assert.equal(await leader.engine.waitForCommit(txId!, 5000), "Committed");
    assert.ok(leader.ledger.files.durableSeqno < last, "committed before the leader's own flush returned");
    // What it reads back meanwhile comes from memory.
    assert.ok(leader.engine.receipt(txId!) !== null);
  } finally {
    open();
  }
  await until(
    () => leader.ledger.files.durableSeqno >= leader.ledger.lastSeqno,
    "the leader's flush completes",
  );
  assert.deepEqual(cluster.failures, []);
});

test("a follower acknowledges only after its own flush", async () => {
  cluster = await Cluster.create(3, oneRound);
  const leader = await leaderOf(cluster);
  const slowFollower = cluster.nodes.find((n) => n !== leader) as Node;
  const open = gateFlushes(slowFollower);
  const acks: number[] = [];
  cluster.onSend = (m) => {
    if (m.type === "MsgAppResp" && m.from === slowFollower.id && !m.reject) acks.push(m.index);
  };
  try {
    const { txId } = await write(leader, "late");
    leader.engine.appendSignature();
    const last = leader.ledger.lastSeqno;
    assert.equal(await leader.engine.waitForCommit(txId!, 5000), "Committed", "leader and one follower");
    await until(() => slowFollower.ledger.lastSeqno === last, "the slow follower appended", 10_000);
    await pause(50);
    assert.ok(
      acks.every((i) => i < last),
      "no acknowledgement of unflushed entries",
    );
    open();
    await until(() => acks.some((i) => i >= last), "the acknowledgement follows the flush", 10_000);
  } finally {
    open();
  }
  assert.deepEqual(cluster.failures, []);
});
