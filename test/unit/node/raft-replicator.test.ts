// Three engines with RaftReplicators in one process over an in-memory network (no TLS): writes on
// the primary commit on a majority and the backups apply them (they never execute); a primary cut
// off with an uncommitted write is replaced, and once healed it rolls that write back from its
// ledger, store and view history, and every ledger agrees on the committed prefix.
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { Cluster, primaryOf, read, until, write } from "./raft-fixture.ts";

let cluster: Cluster | null = null;

after(async () => {
  await cluster?.close();
});

test("in-process: commit on a majority, backups apply, a cut-off primary's write is rolled back", async () => {
  cluster = await Cluster.create(3);
  const { nodes, blocked, failures } = cluster;
  await until(() => primaryOf(nodes) !== undefined, "a primary");
  const first = primaryOf(nodes)!;
  for (let i = 0; i < 20; i++) {
    const { txId } = await write(first, `a${i}`);
    if (i === 19) assert.equal(await first.engine.waitForCommit(txId!, 5000), "Committed");
  }
  await until(() => nodes.every((n) => read(n, "a19") === "v-a19"), "backups apply the write sets");
  assert.equal(first.engine.evidencePrefetchRunning, true, "the primary computes evidence ahead");
  const backup = nodes.find((n) => n !== first)!;
  assert.equal(backup.engine.evidencePrefetchRunning, false, "a backup appends no transactions of its own");
  await assert.rejects(write(backup, "nope"), /COTERIE_ERR_NOT_PRIMARY|not the primary/);

  // Cut the primary off; it appends a write that can never commit.
  blocked.add(first.id);
  const lost = await write(first, "lost");
  const lostId = lost.txId!;
  const others = nodes.filter((n) => n !== first);
  await until(() => primaryOf(others) !== undefined, "a new primary among the others");
  const second = primaryOf(others)!;
  assert.ok(second.engine.view > lostId.view, "the new primary is in a higher view");
  const { txId } = await write(second, "b0");
  assert.equal(await second.engine.waitForCommit(txId!, 5000), "Committed", "two of three commit");

  blocked.delete(first.id);
  await until(() => !first.engine.isPrimary && read(first, "b0") === "v-b0", "the old primary follows");
  assert.equal(read(first, "lost"), undefined, "the uncommitted write is rolled back from the store");
  assert.equal(first.engine.status(lostId), "Invalid");
  assert.equal(first.engine.evidencePrefetchRunning, false, "a primary that steps down stops its worker");
  const committed = second.engine.committedSeqno;
  await until(() => nodes.every((n) => n.engine.committedSeqno >= committed), "everyone learns the commit");
  const roots = nodes.map((n) => Buffer.from(n.ledger.tree.root(committed)).toString("hex"));
  assert.equal(new Set(roots).size, 1, "ledgers agree on the committed prefix");
  assert.deepEqual(failures, []);
});
