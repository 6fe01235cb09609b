// The commit evidence a worker computes ahead (src/node/evidence-prefetch.ts) is exactly what the
// engine computes inline, across views, keys and rollbacks; entries and receipts made with it
// verify; and a prefetch that is off or whose worker fails only makes the engine compute inline.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { verifyReceipt } from "../../../src/crypto/receipt.ts";
import { utf8 } from "../../../src/kv/index.ts";
import {
  commitEvidence,
  commitEvidenceDigest,
  commitEvidenceKey,
  commitEvidenceMac,
  commitEvidenceOfMac,
} from "../../../src/ledger/commit-evidence.ts";
import { decodeEntry } from "../../../src/ledger/entry.ts";
import type { TxId } from "../../../src/node/engine.ts";
import { EvidencePrefetch } from "../../../src/node/evidence-prefetch.ts";
import { currentLedgerSecret } from "../../../src/node/identity.ts";
import { rekey } from "../../../src/node/secrets.ts";
import { makeEngine } from "./engine-fixture.ts";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

function inline(key: Uint8Array, view: number, seqno: number) {
  const mac = commitEvidenceMac(key, view, seqno);
  return { mac: hex(mac), digest: hex(commitEvidenceDigest(commitEvidenceOfMac(view, seqno, mac))) };
}

/**
 * Takes `count` consecutive seqnos from `from`, as an engine appending them would, waiting a little
 * after each miss so the worker can answer. Every value taken must equal the inline one.
 */
async function takeRun(p: EvidencePrefetch, key: Uint8Array, view: number, from: number, count: number) {
  let hits = 0;
  for (let seqno = from; seqno < from + count; seqno++) {
    const got = p.take(key, view, seqno);
    if (got === null) {
      await sleep(2);
      continue;
    }
    hits++;
    assert.deepEqual(
      { mac: hex(got.mac), digest: hex(got.digest) },
      inline(key, view, seqno),
      `${view}.${seqno}`,
    );
  }
  return hits;
}

test("prefetched evidence equals the inline one, and after the first window nearly every take hits", async (t) => {
  const p = new EvidencePrefetch(64, (e) => assert.fail(e));
  t.after(() => p.close());
  const key = randomBytes(32);
  // The first seqnos miss while the worker starts.
  let seqno = 1;
  const deadline = Date.now() + 20_000;
  while (p.stats.hits === 0 && Date.now() < deadline) await takeRun(p, key, 3, seqno++, 1);
  const before = { ...p.stats };
  // From then on the next window is asked for at each one's middle, so takes keep hitting.
  const hits = await takeRun(p, key, 3, seqno, 1000);
  assert.ok(hits >= 900, `hits ${hits} of 1000`);
  assert.deepEqual(p.stats, { hits: before.hits + hits, misses: before.misses + 1000 - hits });
  await p.close();
  assert.equal(p.take(key, 3, seqno + 1000), null, "a closed prefetch misses");
});

test("a new view, a new key or a seqno below the windows never gets another's values", async () => {
  const p = new EvidencePrefetch(32, (e) => assert.fail(e));
  const [k1, k2] = [randomBytes(32), randomBytes(32)];
  assert.ok((await takeRun(p, k1, 2, 1, 200)) > 100);
  // The same seqnos in a later view (a new primary) and under a new key (a rekey): every value
  // taken is checked against its own (key, view, seqno) in takeRun.
  assert.ok((await takeRun(p, k1, 3, 150, 200)) > 100);
  assert.ok((await takeRun(p, k2, 3, 350, 200)) > 100);
  // A rollback: the seqnos go back within the view.
  assert.ok((await takeRun(p, k2, 3, 300, 200)) > 100);
  await p.close();
});

test("a suspended prefetch stops its worker, and the next take starts one that computes the same values", async (t) => {
  const p = new EvidencePrefetch(32, (e) => assert.fail(e));
  t.after(() => p.close());
  const key = randomBytes(32);
  const deadline = Date.now() + 20_000;
  let seqno = 1;
  while (p.stats.hits === 0 && Date.now() < deadline) await takeRun(p, key, 2, seqno++, 1);
  assert.equal(p.running, true);
  p.suspend();
  assert.equal(p.running, false);
  // The suspended worker's exit is not a failure (onFailure would fail the test), and nothing taken
  // after it comes from its windows: the next take misses and starts afresh.
  await sleep(50);
  const before = p.stats.hits;
  assert.equal(p.take(key, 2, seqno), null);
  assert.equal(p.running, true);
  const hits = await takeRun(p, key, 2, seqno + 1, 200);
  assert.ok(hits > 0 && p.stats.hits > before, `hits after resuming: ${hits}`);
});

test("windowTxs 0 starts no worker and always misses", async () => {
  const p = new EvidencePrefetch(0, (e) => assert.fail(e));
  const key = randomBytes(32);
  assert.equal(await takeRun(p, key, 1, 1, 20), 0);
  assert.deepEqual(p.stats, { hits: 0, misses: 20 });
  await p.close();
});

// A timeout, so that a failure never reported fails the test instead of hanging the file.
test("a worker that fails is reported once, and every later take misses", { timeout: 30_000 }, async () => {
  const failures: Error[] = [];
  let failed: () => void = () => {};
  const reported = new Promise<void>((resolve) => (failed = resolve));
  const broken = 'throw new Error("broken worker");';
  const p = new EvidencePrefetch(
    16,
    (e) => {
      failures.push(e);
      failed();
    },
    broken,
  );
  const key = randomBytes(32);
  assert.equal(p.take(key, 1, 1), null);
  await reported;
  assert.equal(await takeRun(p, key, 1, 2, 50), 0);
  assert.equal(failures.length, 1);
  assert.match(failures[0]?.message ?? "", /broken worker/);
  await p.close();
});

test("after a rekey that was rolled back and made again, entries use the new secret's evidence key", async (t) => {
  for (const evidencePrefetchTxs of [0, 4]) {
    const engine = await makeEngine({ evidencePrefetchTxs });
    t.after(() => engine.close());
    const put = async (k: string) => {
      const { txId } = await engine.execute((tx) => tx.typed("m", utf8, utf8).put(k, "v"), {
        reservedWrites: false,
      });
      assert.ok(txId !== null);
      return txId;
    };
    await put("a");
    const base = engine.ledger.lastSeqno;
    await rekey(engine);
    await put("b");
    await engine.rollback(base);
    // The same version again (the next seqno), with another secret.
    await rekey(engine);
    const ids: TxId[] = [];
    for (let i = 0; i < 40; i++) {
      ids.push(await put(`c${i}`));
      await sleep(1);
    }
    const key = commitEvidenceKey(currentLedgerSecret(engine.identity).key);
    for (const id of ids) {
      const entry = decodeEntry(engine.ledger.files.read(id.seqno));
      const expected = commitEvidenceDigest(commitEvidence(key, id.view, id.seqno));
      assert.equal(
        hex(entry.commitEvidenceDigest),
        hex(expected),
        `prefetch ${evidencePrefetchTxs}, entry ${id.seqno}`,
      );
    }
  }
});

test("an engine's entries carry the inline evidence digest, and their receipts verify", async (t) => {
  const engine = await makeEngine({ evidencePrefetchTxs: 16 });
  t.after(() => engine.close());
  const ids: TxId[] = [];
  // Writes a little apart, as a primary under light load, until 60 came from the prefetch (the
  // first ones miss while the worker starts).
  const deadline = Date.now() + 20_000;
  while (engine.evidencePrefetchStats.hits < 60 && Date.now() < deadline) {
    const { txId } = await engine.execute((tx) => tx.typed("m", utf8, utf8).put(`k${ids.length}`, "v"), {
      reservedWrites: false,
    });
    assert.ok(txId !== null);
    ids.push(txId);
    if (ids.length % 10 === 0) engine.appendSignature();
    await sleep(1);
  }
  assert.ok(engine.evidencePrefetchStats.hits >= 60, JSON.stringify(engine.evidencePrefetchStats));
  engine.appendSignature();
  await engine.waitForCommit(ids.at(-1) as TxId, 5000);
  for (const id of ids) {
    const entry = decodeEntry(engine.ledger.files.read(id.seqno));
    const evidence = engine.commitEvidenceOf(id.view, id.seqno);
    assert.equal(hex(entry.commitEvidenceDigest), hex(commitEvidenceDigest(evidence)), `entry ${id.seqno}`);
    const receipt = engine.receipt(id);
    assert.ok(receipt !== null);
    await verifyReceipt(receipt, engine.identity.serviceCert);
  }
});
