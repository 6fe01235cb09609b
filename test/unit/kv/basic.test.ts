import assert from "node:assert/strict";
import { test } from "node:test";
import { compareBytes, isPublicMapName, isReservedMapName, Store } from "../../../src/kv/index.ts";
import { assertCode, b, s } from "./helpers.ts";

test("put, get, has and delete round-trip through a commit", () => {
  const store = new Store();
  const tx = store.beginTx();
  assert.equal(tx.get("m", b("a")), undefined);
  assert.equal(tx.has("m", b("a")), false);
  tx.put("m", b("a"), b("1"));
  tx.put("m", b("b"), b("2"));
  const result = store.commit(tx);
  assert.equal(result.status, "ok");
  assert.equal(store.version, 1);
  const read = store.beginTx();
  assert.equal(s(read.get("m", b("a"))), "1");
  assert.equal(read.has("m", b("b")), true);
  read.delete("m", b("a"));
  assert.equal(read.get("m", b("a")), undefined, "own delete is visible");
  assert.equal(store.commit(read).status, "ok");
  assert.equal(store.beginTx().has("m", b("a")), false);
  assert.equal(s(store.beginTx().get("m", b("b"))), "2");
});

test("a transaction sees its own writes; the last write to a key wins", () => {
  const store = new Store();
  const tx = store.beginTx();
  tx.put("m", b("k"), b("one"));
  assert.equal(s(tx.get("m", b("k"))), "one");
  tx.put("m", b("k"), b("two"));
  assert.equal(s(tx.get("m", b("k"))), "two");
  tx.delete("m", b("k"));
  assert.equal(tx.has("m", b("k")), false);
  tx.put("m", b("k"), b("three"));
  const result = store.commit(tx);
  assert.ok(result.status === "ok");
  assert.equal(result.writeSet.length, 1);
  assert.equal(result.writeSet[0]?.writes.length, 1);
  assert.equal(s(result.writeSet[0]?.writes[0]?.value ?? undefined), "three");
});

test("returned values are copies: mutating them does not change the store", () => {
  const store = new Store();
  const value = b("abc");
  const tx = store.beginTx();
  tx.put("m", b("k"), value);
  value[0] = 0x7a;
  store.commit(tx);
  const got = store.beginTx().get("m", b("k"));
  assert.ok(got);
  assert.equal(s(got), "abc");
  got[0] = 0x7a;
  assert.equal(s(store.beginTx().get("m", b("k"))), "abc");
});

test("keys are ordered by unsigned bytes, including 0x00 and 0xff and prefixes", () => {
  const store = new Store();
  const keys = [
    Uint8Array.of(0xff),
    Uint8Array.of(),
    Uint8Array.of(0x00),
    Uint8Array.of(0x00, 0x00),
    Uint8Array.of(0x7f),
    Uint8Array.of(0x80),
    Uint8Array.of(0x01, 0xff),
    Uint8Array.of(0xff, 0x00),
    Uint8Array.of(0x01),
  ];
  const tx = store.beginTx();
  for (const key of keys) tx.put("m", key, key);
  store.commit(tx);
  const seen: Uint8Array[] = [];
  store.beginTx().forEach("m", (key, value) => {
    assert.deepEqual(key, value);
    seen.push(key);
  });
  const expected = [...keys].sort(compareBytes);
  assert.deepEqual(seen, expected);
  assert.deepEqual(
    expected.map((k) => [...k]),
    [[], [0], [0, 0], [1], [1, 255], [127], [128], [255], [255, 0]],
  );
});

test("forEach stops when the callback returns false", () => {
  const store = new Store();
  const tx = store.beginTx();
  for (const key of ["a", "b", "c"]) tx.put("m", b(key), b(key));
  let calls = 0;
  tx.forEach("m", () => ++calls < 2);
  assert.equal(calls, 2);
});

test("map names: public prefix and reserved prefixes", () => {
  assert.equal(isPublicMapName("public:records"), true);
  assert.equal(isPublicMapName("records"), false);
  assert.equal(isPublicMapName("Public:records"), false);
  assert.equal(isReservedMapName("public:coterie.gov.members"), true);
  assert.equal(isReservedMapName("coterie.internal.secrets"), true);
  assert.equal(isReservedMapName("public:coterieX"), false);
  assert.equal(isReservedMapName("coterie"), false);
  assert.equal(isReservedMapName("public:app.records"), false);
});

test("an app transaction may read but not write reserved maps", () => {
  const store = new Store();
  const framework = store.beginTx();
  framework.put("public:coterie.gov.members", b("m1"), b("x"));
  framework.put("coterie.internal.k", b("k"), b("y"));
  assert.equal(store.commit(framework).status, "ok");
  const app = store.beginTx({ reservedWrites: false });
  assert.equal(s(app.get("public:coterie.gov.members", b("m1"))), "x");
  assertCode(() => app.put("public:coterie.gov.members", b("m2"), b("z")), "COTERIE_ERR_KV_RESERVED_MAP");
  assertCode(() => app.delete("coterie.internal.k", b("k")), "COTERIE_ERR_KV_RESERVED_MAP");
  app.put("public:app", b("k"), b("v"));
  const result = store.commit(app);
  assert.ok(result.status === "ok");
  assert.deepEqual(
    result.writeSet.map((m) => m.name),
    ["public:app"],
  );
});

test("a read-only transaction commits as read-only and makes no version", () => {
  const store = new Store();
  const tx = store.beginTx();
  tx.get("m", b("k"));
  assert.deepEqual(store.commit(tx), { status: "read-only" });
  assert.equal(store.version, 0);
});

test("a committed transaction refuses further use and a second commit", () => {
  const store = new Store();
  const tx = store.beginTx();
  tx.put("m", b("k"), b("v"));
  store.commit(tx);
  assert.throws(() => tx.put("m", b("k"), b("w")), TypeError);
  assert.throws(() => tx.get("m", b("k")), TypeError);
  assert.throws(() => tx.forEach("m", () => {}), TypeError);
  assert.throws(() => tx.range("m", { limit: 1 }), TypeError);
  assert.throws(() => store.commit(tx), /at most once/);
  assert.throws(() => new Store().commit(store.beginTx()), /another store/);
});

test("bad arguments are refused with labelled errors", () => {
  const tx = new Store().beginTx();
  assert.throws(() => tx.get("m", "k" as unknown as Uint8Array), TypeError);
  assert.throws(() => tx.put("m", b("k"), "v" as unknown as Uint8Array), TypeError);
  assertCode(() => tx.get("", b("k")), "COTERIE_ERR_KV_LIMIT");
  assertCode(() => tx.get("x".repeat(257), b("k")), "COTERIE_ERR_KV_LIMIT");
});
