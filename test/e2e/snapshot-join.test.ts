// A node that joins an open two-node network with snapshots catches up from the latest committed
// snapshot (fetched from its target and checked against the service certificate), not from seqno 1:
// its ledger's first chunk starts right after the snapshot, every record reads back on it, it
// becomes a voter, its receipts for older transactions are refused clearly, writes continue, and
// it restarts from the same snapshot.
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import { firstSeqnoOfChunk } from "../../src/ledger/chunk-format.ts";
import { committedSnapshots } from "../../src/node/snapshot-files.ts";
import { client, killNode } from "./harness.ts";
import {
  isAlive,
  joinerConfig,
  type Net,
  networkOf,
  proposeAndAccept,
  spawnNode,
  startNetwork,
  stateOf,
  userClient,
  waitFor,
} from "./multi-node-harness.ts";

let net: Net | null = null;
after(async () => {
  for (const n of net?.nodes ?? []) if (isAlive(n)) await killNode(n, "SIGKILL");
});

test("a joiner catches up from the latest committed snapshot, then the ledger suffix", {
  timeout: 120_000,
}, async () => {
  net = await startNetwork(2, { snapshots: { intervalTxs: 20 } });
  const primary = net.nodes[0]!;
  const written = new Map<number, string>();
  const write = async (from: number, count: number) => {
    const c = userClient(primary, net!.ws);
    try {
      for (let i = from; i < from + count; i++) {
        const r = await c.post(`/app/log/${i % 2 ? "private" : "public"}`, { id: i, msg: `m${i}` });
        assert.equal(r.status, 200, r.body);
        written.set(i, `m${i}`);
      }
    } finally {
      c.close();
    }
  };
  await write(0, 60);
  const snapshotsDir = join(primary.dataDir, "snapshots");
  await waitFor(() => (committedSnapshots(snapshotsDir)[0]?.seqno ?? 0) > 40, 20_000, "a committed snapshot");
  const latest = committedSnapshots(snapshotsDir)[0]!;
  // Only a Trusted node (its certificate over mutual TLS) may fetch it: metadata or file.
  const anon = client(primary, null);
  const user = userClient(primary, net.ws);
  try {
    for (const path of ["/node/snapshot/latest", `/node/snapshot/${latest.seqno}_${latest.evidenceSeqno}`]) {
      assert.equal((await anon.get(path)).status, 401, path);
      assert.equal((await user.get(path)).status, 403, path);
    }
  } finally {
    anon.close();
    user.close();
  }

  const index = net.nodes.length;
  const joining = spawnNode(net.ws, index, joinerConfig(net, index, primary.url));
  let pending: string | undefined;
  await waitFor(
    async () => {
      pending = (await networkOf(primary)).nodes.find((n) => n.status === "Pending")?.node_id;
      return pending !== undefined;
    },
    15_000,
    "the joiner is recorded Pending",
  );
  const trust = [{ name: "transition_node_to_trusted", args: { node_id: pending } }];
  assert.equal(await proposeAndAccept(primary, net.ws, trust), "Accepted");
  const joined = await joining;
  net.nodes.push(joined);

  // It fetched a snapshot at or after the one seen above (its ledger starts right after it, below).
  const fetched = committedSnapshots(join(joined.dataDir, "snapshots"))[0];
  assert.ok(fetched !== undefined, "the joiner holds the fetched snapshot");
  assert.ok(fetched.seqno >= latest.seqno, `fetched ${fetched.seqno}, primary had ${latest.seqno}`);

  await waitFor(
    async () => (await networkOf(primary)).nodes.some((n) => n.node_id === pending && n.voter),
    15_000,
    "the joiner is a voter",
  );
  await write(60, 20);
  const goal = (await stateOf(primary)).last_seqno;
  await waitFor(async () => (await stateOf(joined)).last_seqno >= goal, 15_000, "the joiner caught up");
  const chunks = readdirSync(join(joined.dataDir, "ledger"))
    .map((n) => firstSeqnoOfChunk(n))
    .filter((s): s is number => s !== null)
    .sort((a, b) => a - b);
  assert.equal(chunks[0], fetched.seqno + 1, `first chunk starts after the snapshot: ${chunks.join()}`);

  const c = userClient(joined, net.ws);
  try {
    for (const [id, msg] of written) {
      const r = await c.get(`/app/log/${id % 2 ? "private" : "public"}?id=${id}`);
      assert.equal(r.status, 200, `record ${id} on the joiner: ${r.body}`);
      assert.equal(r.json().msg, msg);
    }
    // Receipts before the snapshot need the older ledger: the primary has it, the joiner refuses.
    const p = userClient(primary, net.ws);
    let old = "";
    for (let view = 1; view <= 3 && old === ""; view++) {
      const r = await p.get(`/app/receipt?transaction_id=${view}.2`);
      if (r.status === 200) old = `${view}.2`;
    }
    p.close();
    assert.notEqual(old, "", "the primary serves the receipt of seqno 2");
    const refused = await c.get(`/app/receipt?transaction_id=${old}`);
    assert.equal(refused.status, 404, refused.body);
    assert.match(refused.body, /COTERIE_ERR_RECEIPT_UNAVAILABLE[\s\S]*older ledger/);
  } finally {
    c.close();
  }

  // Restarted, it starts again from the snapshot its ledger starts after, and keeps up.
  await killNode(joined, "SIGKILL");
  const again = await spawnNode(net.ws, index, joined.configPath);
  net.nodes[index] = again;
  await write(80, 10);
  const goal2 = (await stateOf(primary)).last_seqno;
  await waitFor(
    async () => (await stateOf(again)).last_seqno >= goal2,
    15_000,
    "the restarted joiner caught up",
  );
  const r = userClient(again, net.ws);
  try {
    for (const id of [0, 59, 85]) {
      const got = await r.get(`/app/log/${id % 2 ? "private" : "public"}?id=${id}`);
      assert.equal(got.status, 200, `record ${id} after restart: ${got.body}`);
    }
  } finally {
    r.close();
  }
});
