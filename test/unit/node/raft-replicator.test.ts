// Three engines with RaftReplicators in one process over an in-memory network (no TLS): writes on
// the primary commit on a majority and the backups apply them (they never execute); a primary cut
// off with an uncommitted write is replaced, and once healed it rolls that write back from its
// ledger, store and view history, and every ledger agrees on the committed prefix.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, test } from "node:test";
import type { Message } from "../../../src/consensus/index.ts";
import { seededRandom } from "../../../src/consensus/index.ts";
import { generateKeyPair } from "../../../src/crypto/keys.ts";
import { certificateId, endorseCertificate } from "../../../src/crypto/x509.ts";
import { Store, utf8 } from "../../../src/kv/index.ts";
import { Ledger } from "../../../src/ledger/ledger.ts";
import { Engine } from "../../../src/node/engine.ts";
import { createIdentity, type Identity } from "../../../src/node/identity.ts";
import { createLogger } from "../../../src/node/logger.ts";
import { RaftReplicator } from "../../../src/node/raft-replicator.ts";
import { LedgerStorage } from "../../../src/node/raft-storage.ts";
import { ViewHistory } from "../../../src/node/view-history.ts";
import { tempDir } from "../ledger/helpers.ts";

type Node = { id: string; engine: Engine; replicator: RaftReplicator; ledger: Ledger };

const blocked = new Set<string>();
const nodes: Node[] = [];
const failures: unknown[] = [];

function deliver(m: Message): void {
  if (blocked.has(m.from) || blocked.has(m.to)) return;
  setImmediate(() => nodes.find((n) => n.id === m.to)?.replicator.receive(m));
}

async function makeCluster(size: number): Promise<void> {
  const base = await createIdentity([]);
  const identities: Identity[] = [];
  for (let i = 0; i < size; i++) {
    const node = generateKeyPair("P-384");
    const nodeCert = await endorseCertificate(node, base.service, base.serviceCert, {
      subject: "CN=n",
      validityDays: 1,
    });
    identities.push({
      ...base,
      node,
      nodeCert,
      nodeId: certificateId(nodeCert),
      ledgerSecrets: [...base.ledgerSecrets],
    });
  }
  const voters = identities.map((x) => x.nodeId);
  identities.forEach((identity, i) => {
    const dir = tempDir();
    const { ledger } = Ledger.open(join(dir, "ledger"), { chunkBytesMax: 1 << 20, batchBytesMax: 1 << 20 });
    const views = new ViewHistory(1);
    const storage = new LedgerStorage({
      ledger,
      views,
      dir: join(dir, "raft"),
      state: { term: 0, vote: null, commit: 0, initialConfiguration: voters },
    });
    const replicator = new RaftReplicator({
      storage,
      raft: { id: identity.nodeId, electionTimeoutTicks: 10, heartbeatIntervalTicks: 1 },
      tickMs: 10,
      inboxMessagesMax: 10_000,
      send: deliver,
      log: createLogger("error"),
      onFailure: (e) => failures.push(e),
      random: seededRandom(i + 1),
    });
    const engine = new Engine({
      store: new Store(),
      ledger,
      identity,
      replicator,
      views,
      committedSeqno: 0,
      options: {
        signatureIntervalTxs: 10,
        signatureIntervalMs: 5,
        txAttemptsMax: 3,
        uncommittedTxsMax: 10_000,
      },
    });
    replicator.attach(engine);
    engine.start();
    nodes.push({ id: identity.nodeId, engine, replicator, ledger });
  });
}

const until = async (cond: () => boolean, what: string, ms = 10_000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
};
const primaryOf = (among: Node[]) => among.find((n) => n.engine.isPrimary);
const kv = (tx: Parameters<Parameters<Engine["execute"]>[0]>[0]) => tx.typed("public:test.kv", utf8, utf8);
const read = (n: Node, key: string) => kv(n.engine.store.beginTx()).get(key);
const write = (n: Node, key: string) =>
  n.engine.execute((tx) => kv(tx).put(key, `v-${key}`), { reservedWrites: false });

after(async () => {
  blocked.clear();
  for (const n of nodes) {
    await n.engine.close();
    await n.ledger.close();
  }
});

test("in-process: commit on a majority, backups apply, a cut-off primary's write is rolled back", async () => {
  await makeCluster(3);
  await until(() => primaryOf(nodes) !== undefined, "a primary");
  const first = primaryOf(nodes)!;
  for (let i = 0; i < 20; i++) {
    const { txId } = await write(first, `a${i}`);
    if (i === 19) assert.equal(await first.engine.waitForCommit(txId!, 5000), "Committed");
  }
  await until(() => nodes.every((n) => read(n, "a19") === "v-a19"), "backups apply the write sets");
  const backup = nodes.find((n) => n !== first)!;
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
  const committed = second.engine.committedSeqno;
  await until(() => nodes.every((n) => n.engine.committedSeqno >= committed), "everyone learns the commit");
  const roots = nodes.map((n) => Buffer.from(n.ledger.tree.root(committed)).toString("hex"));
  assert.equal(new Set(roots).size, 1, "ledgers agree on the committed prefix");
  assert.deepEqual(failures, []);
});
