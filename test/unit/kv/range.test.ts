import assert from "node:assert/strict";
import { test } from "node:test";
import { compareBytes, type RangeOptions, Store, type Tx } from "../../../src/kv/index.ts";
import { assertCode, b, k32, prng, s } from "./helpers.ts";

function filled(count: number): Store {
  const store = new Store();
  const tx = store.beginTx();
  for (let i = 0; i < count; i++) tx.put("m", k32(i * 2), k32(i));
  store.commit(tx);
  return store;
}

/** Pages through a range with `limit`, returning every key seen and the number of pages. */
function pageAll(tx: Tx, map: string, options: RangeOptions): { keys: Uint8Array[]; pages: number } {
  const keys: Uint8Array[] = [];
  let cursor: string | undefined;
  for (let pages = 1; pages <= 100_000; pages++) {
    const page = tx.range(map, cursor === undefined ? options : { ...options, cursor });
    assert.ok(page.entries.length <= options.limit);
    for (const [key] of page.entries) keys.push(key);
    if (page.cursor === undefined) return { keys, pages };
    cursor = page.cursor;
  }
  assert.fail("pagination did not end");
}

test("range: from inclusive, to exclusive, in key order", () => {
  const tx = filled(10).beginTx();
  const page = tx.range("m", { from: k32(4), to: k32(10), limit: 100 });
  assert.deepEqual(
    page.entries.map(([k]) => k),
    [k32(4), k32(6), k32(8)],
  );
  assert.equal(page.cursor, undefined);
  const reverse = tx.range("m", { from: k32(4), to: k32(10), limit: 100, reverse: true });
  assert.deepEqual(
    reverse.entries.map(([k]) => k),
    [k32(8), k32(6), k32(4)],
  );
});

test("continuation through a large map returns every key exactly once, both directions", () => {
  const count = 5000;
  const tx = filled(count).beginTx();
  for (const reverse of [false, true]) {
    const { keys, pages } = pageAll(tx, "m", { limit: 7, reverse });
    assert.equal(keys.length, count);
    assert.equal(pages, Math.ceil(count / 7));
    const expected = Array.from({ length: count }, (_, i) => k32(i * 2));
    if (reverse) expected.reverse();
    assert.deepEqual(keys, expected);
  }
  const bounded = pageAll(tx, "m", { from: k32(101), to: k32(2001), limit: 13 });
  assert.deepEqual(
    bounded.keys,
    Array.from({ length: 950 }, (_, i) => k32(102 + i * 2)),
  );
});

test("no cursor when the page ends exactly at the last entry", () => {
  const tx = filled(4).beginTx();
  const first = tx.range("m", { limit: 2 });
  assert.ok(first.cursor);
  const second = tx.range("m", { limit: 2, cursor: first.cursor });
  assert.equal(second.entries.length, 2);
  assert.equal(second.cursor, undefined);
});

test("range merges the transaction's own puts and deletes", () => {
  const store = filled(5); // keys 0 2 4 6 8
  const tx = store.beginTx();
  tx.put("m", k32(3), b("new"));
  tx.delete("m", k32(4));
  tx.put("m", k32(6), b("changed"));
  tx.put("m", k32(100), b("last"));
  const { keys } = pageAll(tx, "m", { limit: 2 });
  assert.deepEqual(keys, [k32(0), k32(2), k32(3), k32(6), k32(8), k32(100)]);
  const reverse = pageAll(tx, "m", { limit: 4, reverse: true });
  assert.deepEqual(reverse.keys, [k32(100), k32(8), k32(6), k32(3), k32(2), k32(0)]);
  assert.equal(s(tx.range("m", { from: k32(6), limit: 1 }).entries[0]?.[1]), "changed");
});

test("writing while iterating with forEach does not disturb the iteration", () => {
  const tx = filled(20).beginTx();
  const seen: number[] = [];
  tx.forEach("m", (key) => {
    const n = new DataView(key.buffer).getUint32(0);
    seen.push(n);
    tx.put("m", k32(n + 1), b("odd"));
  });
  assert.deepEqual(
    seen,
    Array.from({ length: 20 }, (_, i) => i * 2),
  );
});

test("a cursor is bound to its query: another map, bounds or direction refuse it", () => {
  const store = filled(50);
  const tx2 = store.beginTx();
  tx2.put("other", k32(0), b("x"));
  store.commit(tx2);
  const tx = store.beginTx();
  const { cursor } = tx.range("m", { from: k32(10), limit: 3 });
  assert.ok(cursor);
  assert.equal(tx.range("m", { from: k32(10), limit: 5, cursor }).entries.length, 5, "limit may change");
  assertCode(() => tx.range("other", { from: k32(10), limit: 3, cursor }), "COTERIE_ERR_KV_INVALID_CURSOR");
  assertCode(() => tx.range("m", { limit: 3, cursor }), "COTERIE_ERR_KV_INVALID_CURSOR");
  assertCode(() => tx.range("m", { from: k32(11), limit: 3, cursor }), "COTERIE_ERR_KV_INVALID_CURSOR");
  assertCode(
    () => tx.range("m", { from: k32(10), to: k32(99), limit: 3, cursor }),
    "COTERIE_ERR_KV_INVALID_CURSOR",
  );
  assertCode(
    () => tx.range("m", { from: k32(10), limit: 3, cursor, reverse: true }),
    "COTERIE_ERR_KV_INVALID_CURSOR",
  );
});

test("malformed cursors are refused", () => {
  const tx = filled(10).beginTx();
  const { cursor } = tx.range("m", { limit: 3 });
  assert.ok(cursor);
  const bad = ["", "!!!!", `${cursor}=`, cursor.slice(0, 5), `B${cursor.slice(1)}`, "x".repeat(20_000), "AQ"];
  for (const token of bad)
    assertCode(() => tx.range("m", { limit: 3, cursor: token }), "COTERIE_ERR_KV_INVALID_CURSOR");
  assertCode(
    () => tx.range("m", { limit: 3, cursor: 42 as unknown as string }),
    "COTERIE_ERR_KV_INVALID_CURSOR",
  );
});

test("a tampered cursor position outside the query's bounds is refused", () => {
  const tx = filled(10).beginTx();
  const { cursor } = tx.range("m", { from: k32(4), to: k32(10), limit: 1 });
  assert.ok(cursor);
  // Flip a bit of the position (last byte) and keep the digest: out of bounds or not, never a crash.
  const raw = Buffer.from(cursor, "base64url");
  raw[1 + 8] = 0xff;
  assertCode(
    () => tx.range("m", { from: k32(4), to: k32(10), limit: 1, cursor: raw.toString("base64url") }),
    "COTERIE_ERR_KV_INVALID_CURSOR",
  );
});

test("random keys page out in byte order (seeded)", () => {
  const next = prng(7);
  const store = new Store();
  const tx = store.beginTx();
  const keys = new Map<string, Uint8Array>();
  for (let i = 0; i < 2000; i++) {
    const key = Uint8Array.from({ length: 1 + Math.floor(next() * 6) }, () => Math.floor(next() * 256));
    keys.set(key.join(","), key);
    tx.put("m", key, key);
  }
  store.commit(tx);
  const { keys: paged } = pageAll(store.beginTx(), "m", { limit: 33 });
  assert.deepEqual(paged, [...keys.values()].sort(compareBytes));
});
