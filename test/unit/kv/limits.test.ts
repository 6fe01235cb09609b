import assert from "node:assert/strict";
import { test } from "node:test";
import { Store, storeDefaults } from "../../../src/kv/index.ts";
import { assertCode, b } from "./helpers.ts";

test("options are validated once: defaults filled, nonsense refused", () => {
  assert.deepEqual(new Store().limits, storeDefaults);
  assert.equal(new Store({ keyBytesMax: 10 }).limits.keyBytesMax, 10);
  assert.throws(() => new Store({ keyBytesMax: 0 }), RangeError);
  assert.throws(() => new Store({ valueBytesMax: 1.5 }), RangeError);
  assert.throws(() => new Store({ rangeLimitMax: -1 }), RangeError);
  assert.throws(() => new Store({ keyBytesMax: 100, writeSetBytesMax: 50, valueBytesMax: 10 }), RangeError);
});

test("key, value and write-set limits throw COTERIE_ERR_KV_LIMIT at put time and change nothing", () => {
  const store = new Store({ keyBytesMax: 4, valueBytesMax: 8, writeSetBytesMax: 20 });
  const tx = store.beginTx();
  tx.put("m", new Uint8Array(4), new Uint8Array(8));
  assertCode(() => tx.put("m", new Uint8Array(5), new Uint8Array(1)), "COTERIE_ERR_KV_LIMIT");
  assertCode(() => tx.put("m", b("k"), new Uint8Array(9)), "COTERIE_ERR_KV_LIMIT");
  assertCode(() => tx.delete("m", new Uint8Array(5)), "COTERIE_ERR_KV_LIMIT");
  // 12 bytes so far; 1 + 8 more fits (21 would not).
  assertCode(() => tx.put("m", b("abcd"), new Uint8Array(5)), "COTERIE_ERR_KV_LIMIT");
  tx.put("m", b("a"), new Uint8Array(7));
  // Overwriting a key replaces its bytes in the total instead of adding to it.
  tx.put("m", b("a"), new Uint8Array(2));
  tx.put("m", b("b"), new Uint8Array(3));
  const result = store.commit(tx);
  assert.ok(result.status === "ok");
  assert.equal(result.writeSet[0]?.writes.length, 3);
});

test("range limit must be a positive integer within rangeLimitMax", () => {
  const tx = new Store({ rangeLimitMax: 10 }).beginTx();
  assertCode(() => tx.range("m", { limit: 11 }), "COTERIE_ERR_KV_LIMIT");
  assertCode(() => tx.range("m", { limit: 0 }), "COTERIE_ERR_INVALID_INPUT");
  assertCode(() => tx.range("m", { limit: 2.5 }), "COTERIE_ERR_INVALID_INPUT");
  assert.deepEqual(tx.range("m", { limit: 10 }), { entries: [] });
});

test("read-set limits bound what one transaction may record", () => {
  const tx = new Store({ readKeysMax: 3, readRangesMax: 2 }).beginTx();
  for (const key of ["a", "b", "c", "a"]) tx.get("m", b(key));
  assertCode(() => tx.get("m", b("d")), "COTERIE_ERR_KV_LIMIT");
  tx.range("m", { limit: 1 });
  tx.range("m", { limit: 1 });
  assertCode(() => tx.range("m", { limit: 1 }), "COTERIE_ERR_KV_LIMIT");
});

test("versionsRetainedMax: exceeding it without compaction is an assertion failure", () => {
  const store = new Store({ versionsRetainedMax: 3 });
  const write = () => {
    const tx = store.beginTx();
    tx.put("m", b("k"), b(String(store.version)));
    return store.commit(tx);
  };
  write();
  write();
  write();
  assert.throws(write, /versionsRetainedMax \(3\) reached/);
  assert.equal(store.version, 3);
  store.compact(3);
  assert.equal(write().status, "ok");
});
