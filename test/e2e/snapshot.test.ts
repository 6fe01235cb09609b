// Snapshots end to end: periodic snapshots and one asked for by governance (`trigger_snapshot`)
// appear as committed files; each is verifiable on its own (its SHA-256 is the claims digest of the
// evidence transaction, whose receipt verifies against the service certificate); after a SIGKILL
// the node starts from the latest snapshot plus the ledger suffix with every record intact; a
// tampered snapshot stops the node with COTERIE_ERR_SNAPSHOT_MALFORMED.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { verifyReceipt } from "../../src/crypto/receipt.ts";
import { committedSnapshots } from "../../src/node/snapshot-files.ts";
import { client, killNode, makeWorkspace, startNodeProcess } from "./harness.ts";
import { ack, pass } from "./members-harness.ts";

async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 15_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const v = probe();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

test("periodic and triggered snapshots verify alone; restart from the latest; tampering refused", {
  timeout: 120_000,
}, async () => {
  const ws = await makeWorkspace({ snapshots: { intervalTxs: 40 } });
  const dir = join(ws.dir, "node0", "snapshots");
  let node = await startNodeProcess(ws);
  const user = client(node, ws.user);
  for (let i = 0; i < 100; i++) {
    const w = await user.post(`/app/log/${i % 2 ? "private" : "public"}`, { id: i, msg: `m${i}` });
    assert.equal(w.status, 200, w.body);
  }
  // A snapshot is written across event-loop turns while writes go on, so on a slow disk one can
  // span all 100 writes: keep writing (bounded) until two periodic snapshots are committed.
  for (let i = 1000; i < 1400 && committedSnapshots(dir).length < 2; i++) {
    const w = await user.post("/app/log/public", { id: i, msg: `more ${i}` });
    assert.equal(w.status, 200, w.body);
    await new Promise((r) => setTimeout(r, 5));
  }
  await until("two periodic snapshots", () => (committedSnapshots(dir).length >= 2 ? true : undefined));

  // Governance asks for one now.
  await ack(node, ws.member);
  const before = committedSnapshots(dir)[0]?.seqno ?? 0;
  await pass(node, [ws.member], [{ name: "trigger_snapshot" }]);
  const latest = await until("the triggered snapshot", () => {
    const s = committedSnapshots(dir)[0];
    return s !== undefined && s.seqno > before ? s : undefined;
  });

  // Verifiable on its own: the evidence transaction's receipt binds the file's digest.
  const view = (await user.get("/node/state")).json().view as number;
  const receipt = await user.get(`/app/receipt?transaction_id=${view}.${latest.evidenceSeqno}`);
  assert.equal(receipt.status, 200, receipt.body);
  await verifyReceipt(receipt.json(), node.serviceCert);
  const bytes = readFileSync(latest.path);
  assert.equal(
    receipt.json().leaf_components.claims_digest,
    createHash("sha256").update(bytes).digest("hex"),
  );
  const after = await user.post("/app/log/private?wait_for_commit=true", {
    id: 500,
    msg: "after the snapshot",
  });
  assert.equal(after.status, 200, after.body);
  user.close();
  await killNode(node);

  node = await startNodeProcess(ws);
  const restarted = committedSnapshots(dir)[0];
  assert.ok(restarted);
  assert.match(node.stderr(), new RegExp(`started from snapshot.*"seqno":${restarted.seqno}`));
  const c = client(node, ws.user);
  for (let i = 1; i < 100; i += 2)
    assert.deepEqual((await c.get(`/app/log/private?id=${i}`)).json(), { id: i, msg: `m${i}` });
  assert.equal((await c.get("/app/log/private?id=500")).json().msg, "after the snapshot");
  assert.equal((await c.post("/app/log/private", { id: 501, msg: "more" })).status, 200);
  c.close();
  await killNode(node, "SIGTERM");

  const newest = committedSnapshots(dir)[0];
  assert.ok(newest);
  const tampered = readFileSync(newest.path);
  tampered[tampered.length - 40]! ^= 1;
  writeFileSync(newest.path, tampered);
  await assert.rejects(startNodeProcess(ws), /COTERIE_ERR_SNAPSHOT_MALFORMED/);
});
