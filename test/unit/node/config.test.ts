import assert from "node:assert/strict";
import { test } from "node:test";
import { configDefaults, validateConfig } from "../../../src/node/config.ts";

test("defaults are filled in and nested sections merge", () => {
  const c = validateConfig({ dataDir: "/tmp/x", http: { bodyBytesMax: 2048 } });
  assert.equal(c.http.bodyBytesMax, 2048);
  assert.equal(c.http.requestsInFlightMax, configDefaults.http.requestsInFlightMax);
  assert.deepEqual(c.signatures, configDefaults.signatures);
});

test("nodeKey.curve: P-384 by default, P-256 when asked", () => {
  assert.equal(validateConfig({ dataDir: "d" }).nodeKey.curve, "P-384");
  assert.equal(validateConfig({ dataDir: "d", nodeKey: {} }).nodeKey.curve, "P-384");
  assert.equal(validateConfig({ dataDir: "d", nodeKey: { curve: "P-256" } }).nodeKey.curve, "P-256");
  assert.equal(configDefaults.nodeKey.curve, "P-384", "the defaults object is not changed by a config");
});

test("nonsense is refused with a message naming the field", () => {
  const cases: Array<[unknown, RegExp]> = [
    [null, /must be a JSON object/],
    [{}, /dataDir/],
    [{ dataDir: "d", rpc: { port: 70000 } }, /rpc\.port/],
    [{ dataDir: "d", signatures: { intervalTxs: 0 } }, /signatures\.intervalTxs/],
    [{ dataDir: "d", snapshots: { fetchBytesMax: 0 } }, /snapshots\.fetchBytesMax/],
    [{ dataDir: "d", snapshots: { servesMax: 0 } }, /snapshots\.servesMax.*\[1, 64\]/],
    [{ dataDir: "d", snapshots: { servesMax: 65 } }, /snapshots\.servesMax/],
    [{ dataDir: "d", http: { bodyBytesMax: -1 } }, /http\.bodyBytesMax/],
    [{ dataDir: "d", http: { bodyByteMax: 1 } }, /http\.bodyByteMax: unknown field/],
    [{ dataDir: "d", surprise: 1 }, /surprise: unknown field/],
    [{ dataDir: "d", platform: "sgx" }, /platform/],
    [{ dataDir: "d", log: { level: "loud" } }, /log\.level/],
    [{ dataDir: "d", nodeKey: { curve: "P-521" } }, /nodeKey\.curve: must be "P-384" or "P-256"/],
    [{ dataDir: "d", nodeKey: { curve: "secp256r1" } }, /nodeKey\.curve/],
    [{ dataDir: "d", nodeKey: { curve: null } }, /nodeKey\.curve/],
    [{ dataDir: "d", nodeKey: { curve: "P-256", kind: "ec" } }, /nodeKey\.kind: unknown field/],
    [{ dataDir: "d", nodeKey: "P-256" }, /nodeKey: must be an object/],
    [{ dataDir: "d", historyIndex: { atStart: "yes" } }, /historyIndex\.atStart: must be true or false/],
    [{ dataDir: "d", historyIndex: { eager: true } }, /historyIndex\.eager: unknown field/],
  ];
  for (const [input, message] of cases) {
    assert.throws(
      () => validateConfig(input),
      (e: Error & { code?: string }) => {
        assert.equal(e.code, "COTERIE_ERR_INVALID_INPUT");
        assert.match(e.message, message);
        return true;
      },
    );
  }
});

test("relations between limits are checked at load", () => {
  assert.throws(
    () => validateConfig({ dataDir: "d", kv: { valueBytesMax: 10, writeSetBytesMax: 5 } }),
    /valueBytesMax/,
  );
  assert.throws(
    () =>
      validateConfig({ dataDir: "d", kv: { writeSetBytesMax: 1 << 24 }, ledger: { batchBytesMax: 1 << 20 } }),
    /one entry must fit in a flush batch/,
  );
  assert.throws(() => validateConfig({ dataDir: "d", http: { bodyBytesMax: 1 << 26 } }), /bodyBytesMax/);
  assert.throws(() => validateConfig({ dataDir: "d", uncommittedTxsMax: 10 }), /uncommittedTxsMax/);
  assert.throws(
    () => validateConfig({ dataDir: "d", ledger: { batchBytesMax: 1 << 20, holdBytesMax: 2 << 20 } }),
    /ledger\.holdBytesMax.*\[0, 1048576\]/,
  );
  assert.throws(() => validateConfig({ dataDir: "d", ledger: { holdBytesMax: -1 } }), /ledger\.holdBytesMax/);
  assert.equal(validateConfig({ dataDir: "d", ledger: { holdBytesMax: 0 } }).ledger.holdBytesMax, 0);
  assert.throws(
    () =>
      validateConfig({
        dataDir: "d",
        nodeToNode: { host: "127.0.0.1", port: 0 },
        channels: { frameBytesMax: 1 << 20 },
      }),
    /channels\.frameBytesMax/,
    "a node-to-node frame must carry the largest entry",
  );
});

test("signatures.minIntervalMs: off (null) by default, else an integer in [0, intervalMs]", () => {
  assert.equal(validateConfig({ dataDir: "d" }).signatures.minIntervalMs, null, "off: the fixed interval");
  assert.equal(
    validateConfig({ dataDir: "d", signatures: { intervalMs: 1 } }).signatures.minIntervalMs,
    null,
  );
  assert.equal(
    validateConfig({ dataDir: "d", signatures: { intervalMs: 5, minIntervalMs: 5 } }).signatures
      .minIntervalMs,
    5,
  );
  assert.equal(
    validateConfig({ dataDir: "d", signatures: { intervalMs: 50, minIntervalMs: 0 } }).signatures
      .minIntervalMs,
    0,
  );
  for (const signatures of [
    { minIntervalMs: -1 },
    { minIntervalMs: 11 },
    { intervalMs: 5, minIntervalMs: 6 },
    { minIntervalMs: 1.5 },
  ]) {
    assert.throws(
      () => validateConfig({ dataDir: "d", signatures }),
      /signatures\.minIntervalMs: must be an integer in \[0, \d+\]/,
      JSON.stringify(signatures),
    );
  }
});

test("http.responseBatchBytesMax: 64 KiB by default, refused outside [1, 16 MiB]", () => {
  assert.equal(validateConfig({ dataDir: "d" }).http.responseBatchBytesMax, 64 * 1024);
  assert.equal(
    validateConfig({ dataDir: "d", http: { responseBatchBytesMax: 1 } }).http.responseBatchBytesMax,
    1,
  );
  for (const responseBatchBytesMax of [0, 16 * 1024 * 1024 + 1, "64k"]) {
    assert.throws(
      () => validateConfig({ dataDir: "d", http: { responseBatchBytesMax } }),
      /http\.responseBatchBytesMax: must be an integer/,
    );
  }
});

test("ledger.evidencePrefetchTxs: 1,024 by default, 0 turns it off, else in [16, 65,536]", () => {
  assert.equal(validateConfig({ dataDir: "d" }).ledger.evidencePrefetchTxs, 1024);
  for (const ok of [0, 16, 65_536])
    assert.equal(
      validateConfig({ dataDir: "d", ledger: { evidencePrefetchTxs: ok } }).ledger.evidencePrefetchTxs,
      ok,
    );
  for (const evidencePrefetchTxs of [-1, 1, 15, 65_537, 2.5, "1k", null]) {
    assert.throws(
      () => validateConfig({ dataDir: "d", ledger: { evidencePrefetchTxs } }),
      /ledger\.evidencePrefetchTxs: must be an integer in \[16, 65536\]/,
    );
  }
});

test("ledger.receiptCacheTxs: 16,384 by default, 0 turns it off, refused outside [0, 1,048,576]", () => {
  assert.equal(validateConfig({ dataDir: "d" }).ledger.receiptCacheTxs, 16_384);
  assert.equal(validateConfig({ dataDir: "d", ledger: { receiptCacheTxs: 0 } }).ledger.receiptCacheTxs, 0);
  for (const receiptCacheTxs of [-1, 1_048_577, 1.5, "16k"]) {
    assert.throws(
      () => validateConfig({ dataDir: "d", ledger: { receiptCacheTxs } }),
      /ledger\.receiptCacheTxs: must be an integer/,
    );
  }
});

test("historyIndex.atStart: off by default (the first historical query makes the index)", () => {
  assert.equal(validateConfig({ dataDir: "d" }).historyIndex.atStart, false);
  assert.equal(validateConfig({ dataDir: "d", historyIndex: { atStart: true } }).historyIndex.atStart, true);
});
