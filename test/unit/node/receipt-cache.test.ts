// Receipts of what the primary appended come from memory (src/node/receipt-cache.ts): the same
// receipt the ledger gives, with no entry read back from disk; misses, evictions and rollbacks
// fall back to the ledger or forget what was discarded.
import assert from "node:assert/strict";
import { test } from "node:test";
import { verifyReceipt } from "../../../src/crypto/receipt.ts";
import { utf8 } from "../../../src/kv/index.ts";
import { buildReceipt } from "../../../src/ledger/receipt-builder.ts";
import type { SignatureRecord } from "../../../src/ledger/signature.ts";
import type { Engine, TxId } from "../../../src/node/engine.ts";
import { RECEIPT_CACHE_SIGNATURES_MAX, ReceiptCache } from "../../../src/node/receipt-cache.ts";
import { SERVICE_INFO_KEY, serviceInfo } from "../../../src/tables/service.ts";
import { makeEngine } from "./engine-fixture.ts";

const put = async (engine: Engine, key: string): Promise<TxId> => {
  const { txId } = await engine.execute((tx) => tx.typed("m", utf8, utf8).put(key, `value of ${key}`), {
    reservedWrites: false,
  });
  assert.ok(txId !== null);
  return txId;
};

/** Counts the entries `engine` reads back from its ledger files while `fn` runs. */
function countLedgerReads<T>(engine: Engine, fn: () => T): { result: T; reads: number } {
  const files = engine.ledger.files;
  const read = files.read;
  let reads = 0;
  files.read = (seqno: number) => {
    reads++;
    return read.call(files, seqno);
  };
  try {
    return { result: fn(), reads };
  } finally {
    files.read = read;
  }
}

/** The receipt `engine` serves for `id`, and the one built from its ledger alone. */
function bothReceipts(engine: Engine, id: TxId) {
  const fromEngine = countLedgerReads(engine, () => engine.receipt(id));
  const signature = engine.ledger.firstSignatureAfter(id.seqno);
  const fromLedger = buildReceipt(
    engine.ledger,
    id.seqno,
    signature,
    engine.commitEvidenceOf(id.view, id.seqno),
  );
  // The commit answer's text is the served receipt's serialisation, whichever way it was built.
  assert.equal(engine.receiptText(id), JSON.stringify(fromEngine.result), `receipt text of ${id.seqno}`);
  return { served: fromEngine.result, reads: fromEngine.reads, fromLedger };
}

test("a committed transaction's receipt comes from memory, equals the ledger's and verifies", async () => {
  const engine = await makeEngine();
  const ids = [await put(engine, "a"), await put(engine, "b")];
  engine.appendSignature();
  // One with a claims digest, as snapshot evidence has.
  const claims = new Uint8Array(32).fill(7);
  const internal = engine.appendInternal((tx) => tx.typed("m", utf8, utf8).put("c", "x"), claims);
  ids.push({ view: engine.view, seqno: internal });
  engine.appendSignature();
  await engine.waitForCommit(ids[2] as TxId, 5000);
  for (const id of ids) {
    const { served, reads, fromLedger } = bothReceipts(engine, id);
    assert.equal(reads, 0, `receipt of ${id.seqno} read nothing back`);
    assert.deepEqual(served, fromLedger);
    await verifyReceipt(served, engine.identity.serviceCert);
  }
  assert.equal(engine.receipt(ids[2] as TxId)?.leaf_components.claims_digest, "07".repeat(32));
  await engine.close();
});

test("receipts older than the cache, or with the cache off, are read from the ledger and are the same", async () => {
  for (const receiptCacheTxs of [0, 3]) {
    const engine = await makeEngine({ receiptCacheTxs });
    const ids: TxId[] = [];
    for (let i = 0; i < 8; i++) ids.push(await put(engine, `k${i}`));
    engine.appendSignature();
    await engine.waitForCommit(ids.at(-1) as TxId, 5000);
    for (const [i, id] of ids.entries()) {
      const { served, reads, fromLedger } = bothReceipts(engine, id);
      const cached = receiptCacheTxs > 0 && i >= ids.length - receiptCacheTxs;
      assert.equal(reads > 0, !cached, `receipt ${id.seqno} with a cache of ${receiptCacheTxs}`);
      assert.deepEqual(served, fromLedger);
      await verifyReceipt(served, engine.identity.serviceCert);
    }
    await engine.close();
  }
});

test("after a rollback, a reused seqno's receipt is the new entry's, not the discarded one's", async () => {
  const engine = await makeEngine();
  await put(engine, "a"); // 1
  engine.appendSignature(); // 2
  await engine.waitForCommit({ view: 1, seqno: 1 }, 5000);
  await put(engine, "discarded"); // 3
  engine.appendSignature(); // 4, never committed
  await engine.rollback(2);
  const reused = await put(engine, "kept"); // 3 again
  assert.equal(reused.seqno, 3);
  engine.appendSignature(); // 4 again
  await engine.waitForCommit(reused, 5000);
  const { served, reads, fromLedger } = bothReceipts(engine, reused);
  assert.equal(reads, 0);
  assert.deepEqual(served, fromLedger);
  await verifyReceipt(served, engine.identity.serviceCert);
  await engine.close();
});

test("the receipt text carries the previous identities, follows their changes, and is null until committed", async () => {
  const engine = await makeEngine();
  const first = await put(engine, "a");
  assert.equal(engine.receiptText(first), "null", "not committed yet");
  engine.appendSignature();
  await engine.waitForCommit(first, 5000);
  const setPrevious = (previous: string[]) =>
    engine.appendInternal((tx) =>
      serviceInfo.in(tx).put(SERVICE_INFO_KEY, {
        cert: engine.identity.serviceCert,
        status: "Open",
        created_at: "1.1",
        previous_identities: previous,
      }),
    );
  for (const previous of [
    ["-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"],
    ["x", "y"],
    [],
  ]) {
    const seqno = setPrevious(previous);
    const id = await put(engine, `after ${seqno}`);
    engine.appendSignature();
    await engine.waitForCommit(id, 5000);
    for (const each of [first, id]) {
      const served = engine.receipt(each);
      assert.deepEqual(served?.service_endorsements, previous.length === 0 ? undefined : previous);
      assert.equal(engine.receiptText(each), JSON.stringify(served));
    }
  }
  await engine.close();
});

const digest = (byte: number) => new Uint8Array(32).fill(byte);
const signatureRecord = (seqno: number): SignatureRecord => ({
  view: 1,
  seqno,
  tree_size: seqno - 1,
  root: "00".repeat(32),
  node_id: "11".repeat(32),
  signature: "c2ln",
  cert: "cert",
});

test("the cache holds a seqno until a later one takes its slot, only for its view, and forgets what a rollback discards", () => {
  const cache = new ReceiptCache(4);
  cache.recordTransaction(5, 2, digest(1), digest(2), digest(3));
  assert.deepEqual(cache.transaction(5, 2), {
    writeSetDigest: "01".repeat(32),
    claimsDigest: "02".repeat(32),
    commitEvidenceMac: "03".repeat(32),
  });
  assert.equal(cache.transaction(5, 1), null, "another view's seqno 5 is another transaction");
  assert.equal(cache.transaction(1, 2), null, "seqno 1 shares the slot but was never recorded");
  cache.recordTransaction(6, 2, digest(4), digest(5), digest(6));
  cache.recordTransaction(9, 2, digest(7), digest(8), digest(9)); // 9 mod 4 = 5 mod 4
  assert.equal(cache.transaction(5, 2), null, "evicted by 9");
  assert.equal(cache.transaction(9, 2)?.claimsDigest, "08".repeat(32));
  cache.recordSignature(signatureRecord(7));
  cache.recordSignature(signatureRecord(10));
  cache.discardAbove(7);
  assert.equal(cache.transaction(9, 2), null);
  assert.notEqual(cache.transaction(6, 2), null);
  assert.equal(cache.signature(10), null);
  assert.equal(cache.signature(7)?.seqno, 7);
  assert.equal(cache.transaction(6, 2)?.writeSetDigest, "04".repeat(32));
});

test("the cache keeps the latest signatures only, and nothing at all with capacity 0", () => {
  const cache = new ReceiptCache(0);
  cache.recordTransaction(1, 1, digest(1), digest(2), digest(3));
  assert.equal(cache.transaction(1, 1), null);
  for (let seqno = 1; seqno <= RECEIPT_CACHE_SIGNATURES_MAX + 10; seqno++)
    cache.recordSignature(signatureRecord(seqno));
  assert.equal(cache.signature(10), null);
  assert.equal(cache.signature(11)?.seqno, 11);
  assert.equal(cache.signature(RECEIPT_CACHE_SIGNATURES_MAX + 10)?.seqno, RECEIPT_CACHE_SIGNATURES_MAX + 10);
  assert.throws(() => new ReceiptCache(-1));
});
