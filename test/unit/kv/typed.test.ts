import assert from "node:assert/strict";
import { test } from "node:test";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { type Codec, defineTable, json, raw, Store, u64, utf8 } from "../../../src/kv/index.ts";
import { assertCode, b } from "./helpers.ts";

test("codecs round-trip and refuse wrong types", () => {
  assert.equal(utf8.decode(utf8.encode("héllo ✓")), "héllo ✓");
  assert.throws(() => utf8.decode(Uint8Array.of(0xff, 0xfe)), TypeError);
  assert.throws(() => utf8.encode(5 as unknown as string), TypeError);
  const codec = json<{ a: number; b: string[] }>();
  assert.deepEqual(codec.decode(codec.encode({ a: 1, b: ["x"] })), { a: 1, b: ["x"] });
  assert.throws(() => codec.encode(undefined as unknown as { a: number; b: string[] }), TypeError);
  const bytes = Uint8Array.of(1, 2, 3);
  const encoded = raw.encode(bytes);
  bytes[0] = 9;
  assert.deepEqual(encoded, Uint8Array.of(1, 2, 3), "raw copies");
  assert.deepEqual(u64.encode(258n), Uint8Array.of(0, 0, 0, 0, 0, 0, 1, 2));
  assert.equal(u64.decode(u64.encode(2n ** 64n - 1n)), 2n ** 64n - 1n);
  assert.throws(() => u64.encode(-1n), RangeError);
  assert.throws(() => u64.encode(2n ** 64n), RangeError);
  assert.throws(() => u64.encode(1 as unknown as bigint), TypeError);
  assert.throws(() => u64.decode(Uint8Array.of(1)), RangeError);
  assert.equal(u64.decode(Uint8Array.of(9, 0, 0, 0, 0, 0, 0, 0, 7).subarray(1)), 7n, "respects byteOffset");
});

test("typed maps: get/has/put/delete/versionOf through a transaction", () => {
  const store = new Store();
  const tx = store.beginTx();
  const people = tx.typed("people", utf8, json<{ age: number }>());
  people.put("ada", { age: 36 });
  assert.deepEqual(people.get("ada"), { age: 36 });
  assert.equal(people.has("bob"), false);
  people.put("bob", { age: 1 });
  people.delete("bob");
  assert.equal(people.get("bob"), undefined);
  const result = store.commit(tx);
  assert.ok(result.status === "ok");
  assert.equal(store.beginTx().typed("people", utf8, json<{ age: number }>()).versionOf("ada"), 1);
});

test("the latin1 forms of utf8 and json are the latin1 of their bytes, both ways", () => {
  const latin1 = (bytes: Uint8Array) => Buffer.from(bytes).toString("latin1");
  const texts = ["", "ada", "héllo ✓", "é", "\u00ff", "\u0100", "😀 and more", "\u007f\u0080", "a\u0000b"];
  for (const text of texts) {
    const form = utf8.encodeLatin1?.(text);
    assert.equal(form, latin1(utf8.encode(text)), JSON.stringify(text));
    assert.equal(utf8.decodeLatin1?.(form as string), text);
  }
  const codec = json<unknown>();
  for (const value of [{ a: 1, b: ["x"] }, "café", [null, true, "ü✓"], 7]) {
    const form = codec.encodeLatin1?.(value);
    assert.equal(form, latin1(codec.encode(value)));
    assert.deepEqual(codec.decodeLatin1?.(form as string), value);
  }
  assert.throws(() => utf8.encodeLatin1?.(5 as unknown as string), TypeError);
  assert.throws(() => codec.encodeLatin1?.(undefined), TypeError);
  // Bytes that are not UTF-8 still throw, as `decode` does.
  assert.throws(() => utf8.decodeLatin1?.("\u00ff\u00fe"), TypeError);
});

test("typed get and has through the latin1 forms see the same entries as through bytes", () => {
  const store = new Store();
  const setup = store.beginTx();
  const keys = ["ada", "é", "✓ key", "a".repeat(300)];
  for (const [i, key] of keys.entries()) setup.put("m", b(key), b(`value ${i} ✓`));
  setup.put("m", b("bad"), Uint8Array.of(0xff));
  assert.equal(store.commit(setup).status, "ok");
  const tx = store.beginTx();
  const typed = tx.typed("m", utf8, utf8);
  // A codec without the latin1 forms takes the bytes path: the reference.
  const plain: Codec<string> = { encode: utf8.encode, decode: utf8.decode };
  const reference = tx.typed("m", plain, plain);
  for (const key of [...keys, "absent", "e\u0301"]) {
    assert.equal(typed.get(key), reference.get(key), key);
    assert.equal(typed.has(key), reference.has(key), key);
  }
  assert.equal(typed.get("é"), "value 1 ✓");
  assert.throws(() => typed.get("bad"), TypeError, "a stored value that is not UTF-8 still throws");
  typed.put("new", "mine");
  assert.equal(typed.get("new"), "mine", "sees the transaction's own writes");
  typed.delete("ada");
  assert.equal(typed.has("ada"), false);
});

test("typed puts through the latin1 forms write the same set as through bytes", () => {
  // A codec without the latin1 forms takes the bytes path (`Tx.put`): the reference.
  const plain: Codec<string> = { encode: utf8.encode, decode: utf8.decode };
  const people = json<{ name: string; tags: string[] }>();
  const plainPeople: Codec<{ name: string; tags: string[] }> = {
    encode: people.encode,
    decode: people.decode,
  };
  const keys = ["ada", "é", "✓ key", "😀", "a\u0000b", "", "z".repeat(300)];
  const writeSetOf = (text: Codec<string>, record: Codec<{ name: string; tags: string[] }>) => {
    const store = new Store();
    const setup = store.beginTx();
    setup.typed("m", text, text).put("replaced", "old ✓");
    assert.equal(store.commit(setup).status, "ok");
    const tx = store.beginTx();
    for (const [i, key] of keys.entries()) {
      tx.typed("m", text, text).put(key, `value ${i} ✓ ü`);
      tx.typed("people", text, record).put(key, { name: key, tags: ["x", "ü✓"] });
    }
    tx.typed("m", text, text).put("replaced", "new");
    const typed = tx.typed("m", text, text);
    assert.equal(typed.get("é"), "value 1 ✓ ü", "the transaction reads its own typed writes back");
    const result = store.commit(tx);
    assert.ok(result.status === "ok");
    assert.equal(store.beginTx().typed("m", plain, plain).get("replaced"), "new");
    return result.writeSet;
  };
  const viaLatin1 = writeSetOf(utf8, people);
  assert.deepEqual(viaLatin1, writeSetOf(plain, plainPeople));
  assert.equal(viaLatin1.find((m) => m.name === "m")?.writes.length, keys.length + 1);
});

test("putLatin1 makes the checks and keeps the limits of put, and changes nothing when it refuses", () => {
  const store = new Store({ keyBytesMax: 4, valueBytesMax: 8, writeSetBytesMax: 20 });
  const tx = store.beginTx({ reservedWrites: false });
  tx.putLatin1("m", "k\u00ff", "\u0000\u00e9");
  assert.throws(() => tx.putLatin1("m", "k\u0100", "v"), /key must be a latin1 string/);
  assert.throws(() => tx.putLatin1("m", "k", "\u{1F600}"), /value must be a latin1 string/);
  assert.throws(() => tx.putLatin1("m", 5 as unknown as string, "v"), TypeError);
  assert.throws(() => tx.putLatin1("m", "k", b("v") as unknown as string), TypeError);
  assertCode(() => tx.putLatin1("m", "kkkkk", "v"), "COTERIE_ERR_KV_LIMIT");
  assertCode(() => tx.putLatin1("m", "k", "v".repeat(9)), "COTERIE_ERR_KV_LIMIT");
  tx.putLatin1("m", "ab", "v".repeat(8));
  // 14 bytes so far: 12 more would pass the write set's 20.
  assertCode(() => tx.putLatin1("m", "abcd", "v".repeat(8)), "COTERIE_ERR_KV_LIMIT");
  assertCode(() => tx.putLatin1("public:coterie.gov.members", "k", "v"), "COTERIE_ERR_KV_RESERVED_MAP");
  assert.throws(() => tx.putLatin1("", "k", "v"));
  const result = store.commit(tx);
  assert.ok(result.status === "ok");
  assert.deepEqual(result.writeSet, [
    {
      name: "m",
      writes: [
        { key: b("ab"), value: b("v".repeat(8)) },
        { key: Uint8Array.of(0x6b, 0xff), value: Uint8Array.of(0, 0xe9) },
      ],
    },
  ]);
  assert.throws(() => tx.putLatin1("m", "k", "v"), /already been committed/);
});

test("a typed put keeps copies: a slice of a caller's large string does not keep it alive", () => {
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as () => void;
  const heapUsed = () => {
    gc();
    gc();
    return process.memoryUsage().heapUsed;
  };
  const store = new Store();
  const before = heapUsed();
  const tx = store.beginTx();
  const typed = tx.typed("m", utf8, utf8);
  // 40 parents of 512 KiB: a V8 slice of 13 chars or more points into its parent.
  for (let i = 0; i < 40; i++) {
    const parent = `${String(i).padStart(4, "0")}`.repeat(128 * 1024);
    typed.put(parent.slice(8, 40), parent.slice(100, 160));
  }
  assert.equal(store.commit(tx).status, "ok");
  const grown = heapUsed() - before;
  assert.ok(grown < 8 * 1024 * 1024, `the heap grew by ${grown} bytes for 40 small records`);
  assert.equal(
    store.beginTx().typed("m", utf8, utf8).get("00000000000000000000000000000000"),
    "0000".repeat(15),
  );
});

test("a typed get records its read: a write committed meanwhile makes the transaction conflict", () => {
  const store = new Store();
  const setup = store.beginTx();
  setup.typed("m", utf8, utf8).put("k", "v0");
  assert.equal(store.commit(setup).status, "ok");
  const reader = store.beginTx();
  assert.equal(reader.typed("m", utf8, utf8).get("k"), "v0");
  reader.typed("m", utf8, utf8).put("other", "x");
  const writer = store.beginTx();
  writer.typed("m", utf8, utf8).put("k", "v1");
  assert.equal(store.commit(writer).status, "ok");
  assert.equal(store.commit(reader).status, "conflict");
});

test("u64 keys order numerically in ranges, with typed bounds and cursors", () => {
  const store = new Store();
  const tx = store.beginTx();
  const seq = tx.typed("seq", u64, utf8);
  for (const n of [300n, 2n, 70000n, 1n, 2n ** 40n, 0n]) seq.put(n, `v${n}`);
  const all = seq.range({ limit: 100 }).entries.map(([k]) => k);
  assert.deepEqual(all, [0n, 1n, 2n, 300n, 70000n, 2n ** 40n]);
  const first = seq.range({ from: 1n, to: 2n ** 40n, limit: 2 });
  assert.deepEqual(first.entries, [
    [1n, "v1"],
    [2n, "v2"],
  ]);
  assert.ok(first.cursor);
  const second = seq.range({ from: 1n, to: 2n ** 40n, limit: 2, cursor: first.cursor });
  assert.deepEqual(
    second.entries.map(([k]) => k),
    [300n, 70000n],
  );
  assert.equal(second.cursor, undefined);
  const down = seq.range({ limit: 2, reverse: true });
  assert.deepEqual(
    down.entries.map(([k]) => k),
    [2n ** 40n, 70000n],
  );
  const seen: bigint[] = [];
  seq.forEach((k) => {
    seen.push(k);
  });
  assert.deepEqual(seen, all);
});

test("defineTable declares a map once; table.in(tx) obeys the reserved-map rule", () => {
  const members = defineTable("public:coterie.gov.members", utf8, json<{ name: string }>());
  const records = defineTable("records", u64, utf8);
  assert.equal(members.name, "public:coterie.gov.members");
  assert.ok(Object.isFrozen(members));
  const store = new Store();
  const framework = store.beginTx();
  members.in(framework).put("m0", { name: "Ada" });
  assert.equal(store.commit(framework).status, "ok");
  const app = store.beginTx({ reservedWrites: false });
  assert.deepEqual(members.in(app).get("m0"), { name: "Ada" });
  assertCode(() => members.in(app).put("m1", { name: "Eve" }), "COTERIE_ERR_KV_RESERVED_MAP");
  records.in(app).put(7n, "seven");
  assert.equal(records.in(app).get(7n), "seven");
  assertCode(() => defineTable("", utf8, utf8), "COTERIE_ERR_KV_LIMIT");
});
