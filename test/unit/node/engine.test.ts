// The engine's write path without HTTP: optimistic concurrency re-runs a conflicting handler,
// gives up with 409 after the configured attempts, and a handler that throws appends nothing.
import assert from "node:assert/strict";
import { test } from "node:test";
import { utf8 } from "../../../src/kv/index.ts";
import type { Engine } from "../../../src/node/engine.ts";
import { SERVICE_CONFIG_KEY, serviceConfiguration } from "../../../src/tables/service.ts";
import { CoterieError } from "../../../src/util/errors.ts";

import { makeEngine as makeEngineWith } from "./engine-fixture.ts";

const makeEngine = (txAttemptsMax = 3) => makeEngineWith({ txAttemptsMax });

const counter = (tx: Parameters<Parameters<Engine["execute"]>[0]>[0]) => tx.typed("counter", utf8, utf8);

test("a handler that read a key another transaction changed is re-run, and both increments land", async () => {
  const engine = await makeEngine();
  let runs = 0;
  let release: () => void = () => {};
  const gate = new Promise<void>((r) => {
    release = r;
  });
  const slow = engine.execute(
    async (tx) => {
      runs++;
      const n = Number(counter(tx).get("n") ?? "0");
      if (runs === 1) await gate; // the fast writer commits meanwhile
      counter(tx).put("n", String(n + 1));
    },
    { reservedWrites: false },
  );
  await engine.execute((tx) => counter(tx).put("n", String(Number(counter(tx).get("n") ?? "0") + 1)), {
    reservedWrites: false,
  });
  release();
  const { txId } = await slow;
  assert.equal(runs, 2, "the conflicting handler ran again");
  assert.equal(txId?.seqno, 2);
  assert.equal(counter(engine.store.beginTx()).get("n"), "2");
  await engine.close();
});

test("after txAttemptsMax conflicts the write fails with COTERIE_ERR_KV_CONFLICT (409)", async () => {
  const engine = await makeEngine(2);
  const attempt = engine.execute(
    async (tx) => {
      counter(tx).get("n");
      // Another writer commits while this handler waits, every time.
      await engine.execute((t) => counter(t).put("n", "x"), { reservedWrites: false });
      counter(tx).put("n", "mine");
    },
    { reservedWrites: false },
  );
  await assert.rejects(attempt, (e: Error & { code?: string; status?: number }) => {
    assert.equal(e.code, "COTERIE_ERR_KV_CONFLICT");
    assert.equal(e.status, 409);
    return true;
  });
  await engine.close();
});

test("a handler that throws appends nothing; read-only handlers get no transaction id", async () => {
  const engine = await makeEngine();
  await assert.rejects(
    engine.execute(
      (tx) => {
        counter(tx).put("n", "1");
        throw new Error("bug");
      },
      { reservedWrites: false },
    ),
    /bug/,
  );
  assert.equal(engine.lastSeqno, 0);
  const { txId } = await engine.execute((tx) => counter(tx).get("n"), { reservedWrites: false });
  assert.equal(txId, null);
  assert.equal(engine.lastSeqno, 0);
  await engine.close();
});

test("signatures every N transactions commit them, and receipts follow", async () => {
  const engine = await makeEngine();
  const ids = [];
  for (let i = 0; i < 3; i++) {
    ids.push((await engine.execute((tx) => counter(tx).put(`k${i}`, "v"), { reservedWrites: false })).txId);
  }
  assert.equal(engine.status(ids[0] as { view: number; seqno: number }), "Pending");
  engine.appendSignature();
  assert.equal(await engine.waitForCommit(ids[2] as { view: number; seqno: number }, 5000), "Committed");
  assert.equal(engine.committedSeqno, 4);
  const receipt = engine.receipt(ids[1] as { view: number; seqno: number });
  assert.equal(receipt?.transaction_id, "1.2");
  assert.equal(receipt?.signature_transaction_id, "1.4");
  assert.equal(engine.status({ view: 1, seqno: 99 }), "Unknown");
  assert.equal(engine.status({ view: 0, seqno: 2 }), "Invalid");
  await engine.close();
});

test("the signature interval follows the committed service configuration (set_service_configuration)", async () => {
  const engine = await makeEngine();
  engine.start();
  await engine.execute(
    (tx) =>
      serviceConfiguration
        .in(tx)
        .put(SERVICE_CONFIG_KEY, { signature_interval_txs: 2, signature_interval_ms: 60_000 }),
    { reservedWrites: true },
  );
  const before = engine.lastSeqno;
  await engine.execute((tx) => counter(tx).put("a", "1"), { reservedWrites: false });
  assert.equal(
    engine.lastSeqno,
    before + 1,
    "not committed yet: the node's own interval (1000) still applies",
  );
  engine.appendSignature();
  await engine.waitForCommit({ view: 1, seqno: engine.lastSeqno - 1 }, 5000);
  const base = engine.lastSeqno;
  await engine.execute((tx) => counter(tx).put("b", "1"), { reservedWrites: false });
  await engine.execute((tx) => counter(tx).put("c", "1"), { reservedWrites: false });
  await engine.signatureSettled();
  assert.equal(engine.lastSeqno, base + 3, "two transactions, then a signature, as the members configured");
  await engine.close();
});

test("the history index follows announced write sets, and a rolled-back seqno is replaced, not kept", async () => {
  const { HistoryIndex } = await import("../../../src/node/indexes.ts");
  const engine = await makeEngine();
  const index = new HistoryIndex(engine);
  const put = (k: string) => engine.execute((tx) => counter(tx).put(k, "v"), { reservedWrites: false });
  await put("a"); // seqno 1
  engine.appendSignature(); // 2
  await engine.waitForCommit({ view: 1, seqno: 1 }, 5000);
  await put("stale"); // 3, never committed
  await engine.rollback(2);
  engine.appendSignature(); // 3 again, now a signature
  await put("b"); // 4
  engine.appendSignature(); // 5
  await engine.waitForCommit({ view: 1, seqno: 4 }, 5000);
  index.catchUp(100);
  const keys = (k: string) => index.keySeqnos("counter", new TextEncoder().encode(k), 1, 10);
  assert.deepEqual(keys("a"), [1]);
  assert.deepEqual(keys("b"), [4]);
  assert.deepEqual(keys("stale"), [], "the discarded write is not indexed");
  assert.deepEqual(index.mapSeqnos("counter", 1, 10), [1, 4]);
  await engine.close();
});

test("waitForCommit rejects with COTERIE_ERR_TIMEOUT when no signature commits the write in time", async () => {
  const engine = await makeEngineWith({ signatureIntervalTxs: 1000, signatureIntervalMs: 60_000 });
  engine.start();
  const { txId: id } = await engine.execute((tx) => counter(tx).put("k", "v"), { reservedWrites: false });
  assert.ok(id !== null);
  const started = performance.now();
  await assert.rejects(engine.waitForCommit(id, 50), (error: unknown) => {
    assert.ok(error instanceof CoterieError);
    assert.equal(error.code, "COTERIE_ERR_TIMEOUT");
    assert.match(error.message, /not committed within 50 ms/);
    return true;
  });
  assert.ok(performance.now() - started >= 49, "not before its timeout");
  // A later wait on the same write is answered once a signature commits it.
  const later = engine.waitForCommit(id, 5000);
  engine.appendSignature();
  assert.equal(await later, "Committed");
  await engine.close();
});

test("waiters with different timeouts each time out at their own deadline; a commit wakes the rest and leaves no timer", async () => {
  const engine = await makeEngineWith({ signatureIntervalTxs: 1000, signatureIntervalMs: 60_000 });
  engine.start();
  const { txId: id } = await engine.execute((tx) => counter(tx).put("k", "v"), { reservedWrites: false });
  assert.ok(id !== null);
  const timeouts = () => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;
  const idle = timeouts();
  const started = performance.now();
  const settledAt = (p: Promise<unknown>) =>
    p.then(
      (status) => ({ status, ms: performance.now() - started }),
      (error: CoterieError) => ({ status: error.code, ms: performance.now() - started }),
    );
  const late = settledAt(engine.waitForCommit(id, 120));
  const early = settledAt(engine.waitForCommit(id, 40));
  const kept = settledAt(engine.waitForCommit(id, 5000));
  assert.equal(timeouts(), idle + 1, "one timer for every waiter");
  const first = await early;
  assert.equal(first.status, "COTERIE_ERR_TIMEOUT");
  assert.ok(first.ms >= 39, `not before its timeout (${first.ms} ms)`);
  const second = await late;
  assert.equal(second.status, "COTERIE_ERR_TIMEOUT");
  assert.ok(second.ms >= 119, `not before its timeout (${second.ms} ms)`);
  engine.appendSignature();
  assert.equal((await kept).status, "Committed");
  assert.equal(timeouts(), idle, "no timer once nobody waits");
  await engine.close();
});

/** `txId` commits, and its receipt names signature `signatureTxId` and verifies. */
async function expectSignedBy(
  engine: Engine,
  txId: { view: number; seqno: number } | null,
  signatureTxId: string,
) {
  const { verifyReceipt } = await import("../../../src/crypto/receipt.ts");
  assert.ok(txId !== null);
  assert.equal(await engine.waitForCommit(txId, 5000), "Committed");
  const receipt = engine.receipt(txId);
  assert.equal(receipt?.signature_transaction_id, signatureTxId);
  await verifyReceipt(receipt, engine.identity.serviceCert);
}

test("a signature made off the event loop holds writes back until it is appended, and its receipts verify", async () => {
  const engine = await makeEngineWith({ signatureIntervalTxs: 2 });
  await engine.execute((tx) => counter(tx).put("a", "1"), { reservedWrites: false }); // 1
  const second = await engine.execute((tx) => counter(tx).put("b", "1"), { reservedWrites: false }); // 2
  assert.equal(engine.lastSeqno, 2, "the signature is being made, not appended yet");
  const third = engine.execute((tx) => counter(tx).put("c", "1"), { reservedWrites: false });
  await new Promise((resolve) => setImmediate(resolve));
  // Either still waiting, or the signature landed first: the write never takes seqno 3.
  assert.ok(engine.lastSeqno === 2 || engine.lastSeqno === 3);
  const { txId } = await third;
  assert.equal(txId?.seqno, 4, "the write was appended behind the signature at 3");
  await expectSignedBy(engine, second.txId, "1.3");
  await engine.close();
});

test("a read does not wait for a signature being made off the event loop", async () => {
  const engine = await makeEngineWith({ signatureIntervalTxs: 2 });
  await engine.execute((tx) => counter(tx).put("a", "1"), { reservedWrites: false }); // 1
  await engine.execute((tx) => counter(tx).put("b", "1"), { reservedWrites: false }); // 2, signing for 3
  // The thread pool's answer is a later macrotask: a read that waited for it would see seqno 3.
  const { result, txId } = await engine.execute((tx) => counter(tx).get("a"), { reservedWrites: false });
  assert.equal(result, "1");
  assert.equal(txId, null);
  assert.equal(engine.lastSeqno, 2, "answered while the signature was still being made");
  await engine.signatureSettled();
  assert.equal(engine.lastSeqno, 3);
  await engine.close();
});

test("a signature made off the event loop is dropped when its suffix was rolled back and rewritten meanwhile", async () => {
  const engine = await makeEngineWith({ signatureIntervalTxs: 2 });
  await engine.execute((tx) => counter(tx).put("a", "1"), { reservedWrites: false }); // 1
  await engine.execute((tx) => counter(tx).put("b", "1"), { reservedWrites: false }); // 2, signing for 3
  const rolledBack = engine.rollback(1);
  // Rewrite seqno 2, so the seqno the signature was made for is the next one again.
  await rolledBack;
  engine.appendInternal((tx) => counter(tx).put("b", "other"));
  assert.equal(engine.lastSeqno, 2);
  await engine.signatureSettled();
  assert.equal(engine.lastSeqno, 2, "the signature over the old root was not appended");
  engine.appendSignature();
  assert.equal(await engine.waitForCommit({ view: 1, seqno: 2 }, 5000), "Committed");
  await engine.close();
});

test("one node: transaction entries wait for their signature's flush unless holdBytesMax bytes wait", async () => {
  for (const holdBytesMax of [0, 1 << 20]) {
    const engine = await makeEngineWith(
      { signatureIntervalTxs: 1000, signatureIntervalMs: 60_000 },
      holdBytesMax,
    );
    engine.start();
    for (let i = 0; i < 3; i++)
      await engine.execute((tx) => tx.typed("public:t", utf8, utf8).put(`k${i}`, "v"), {
        reservedWrites: false,
      });
    await new Promise((r) => setTimeout(r, 50));
    const durable = engine.ledger.files.durableSeqno;
    if (holdBytesMax === 0) assert.equal(durable, 3, "each entry is flushed at once");
    else assert.equal(durable, 0, "nothing is flushed before the signature");
    engine.appendSignature();
    const last = engine.ledger.lastSeqno;
    const deadline = Date.now() + 5000;
    while (engine.committedSeqno < last && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    assert.equal(engine.committedSeqno, last, "the signature's flush commits everything before it");
    assert.equal(engine.ledger.files.durableSeqno, last);
    await engine.close();
  }
});

test("a P-256 node key signs in place: the signature is appended in the same turn, and its receipts verify", async () => {
  const engine = await makeEngineWith({ signatureIntervalTxs: 2 }, 0, "P-256");
  await engine.execute((tx) => counter(tx).put("a", "1"), { reservedWrites: false }); // 1
  const second = await engine.execute((tx) => counter(tx).put("b", "1"), { reservedWrites: false }); // 2
  assert.equal(engine.lastSeqno, 3, "the signature at 3 is already appended");
  await expectSignedBy(engine, second.txId, "1.3");
  await engine.close();
});
