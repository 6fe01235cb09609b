import assert from "node:assert/strict";
import { test } from "node:test";
import { Store, type Tx, type WriteSet } from "../../../src/kv/index.ts";
import { b, s } from "./helpers.ts";

function commitOk(store: Store, write: (tx: Tx) => void): WriteSet {
  const tx = store.beginTx();
  write(tx);
  const result = store.commit(tx);
  assert.ok(result.status === "ok");
  assert.equal(result.version, store.version);
  return result.writeSet;
}

test("versions are contiguous and versionOf names the version that last wrote a key", () => {
  const store = new Store();
  commitOk(store, (tx) => tx.put("m", b("a"), b("1")));
  commitOk(store, (tx) => tx.put("m", b("b"), b("2")));
  commitOk(store, (tx) => tx.put("m", b("a"), b("3")));
  assert.equal(store.version, 3);
  const tx = store.beginTx();
  assert.equal(tx.versionOf("m", b("a")), 3);
  assert.equal(tx.versionOf("m", b("b")), 2);
  assert.equal(tx.versionOf("m", b("zz")), undefined);
  assert.equal(store.snapshotAt(1).versionOf("m", b("a")), 1);
});

test("the write set is deterministic: sorted maps, sorted keys, last write wins", () => {
  const run = (order: number[]) => {
    const store = new Store();
    const tx = store.beginTx();
    const ops: Array<() => void> = [
      () => tx.put("zeta", b("k"), b("z")),
      () => tx.put("alpha", b("b"), b("first")),
      () => tx.put("alpha", Uint8Array.of(0xff), b("ff")),
      () => tx.put("alpha", Uint8Array.of(0x00), b("00")),
      () => tx.delete("Beta", b("gone")),
      () => tx.put("public:x", b("p"), b("pub")),
    ];
    for (const i of order) ops[i]?.();
    tx.put("alpha", b("b"), b("last"));
    const fromTx = tx.writeSet();
    const result = store.commit(tx);
    assert.ok(result.status === "ok");
    assert.deepEqual(result.writeSet, fromTx);
    return result.writeSet;
  };
  const one = run([0, 1, 2, 3, 4, 5]);
  const two = run([5, 4, 3, 2, 1, 0]);
  assert.deepEqual(one, two);
  assert.deepEqual(
    one.map((m) => m.name),
    ["Beta", "alpha", "public:x", "zeta"],
  );
  const alpha = one[1]?.writes ?? [];
  assert.deepEqual(
    alpha.map((w) => [...w.key]),
    [[0x00], [0x62], [0xff]],
  );
  assert.equal(s(alpha[1]?.value ?? undefined), "last");
  assert.equal(one[0]?.writes[0]?.value, null);
});

test("applyWriteSet on a second store reproduces the first (backup replay)", () => {
  const primary = new Store();
  const backup = new Store();
  const sets: WriteSet[] = [];
  sets.push(commitOk(primary, (tx) => tx.put("m", b("a"), b("1"))));
  sets.push(
    commitOk(primary, (tx) => {
      tx.put("m", b("b"), b("2"));
      tx.put("public:n", b("x"), b("y"));
    }),
  );
  sets.push(commitOk(primary, (tx) => tx.delete("m", b("a"))));
  sets.forEach((set, i) => {
    backup.applyWriteSet(set, i + 1);
  });
  assert.equal(backup.version, 3);
  const dump = (store: Store) => {
    const snap = store.snapshotAt();
    return snap.mapNames().map((name) => [name, [...snap.entries(name)].map(([k, v]) => [s(k), s(v)])]);
  };
  assert.deepEqual(dump(backup), dump(primary));
  assert.deepEqual(dump(backup), [
    ["m", [["b", "2"]]],
    ["public:n", [["x", "y"]]],
  ]);
  assert.equal(backup.beginTx().versionOf("m", b("b")), 2);
});

test("applyWriteSet asserts the next version and the write-set form", () => {
  const store = new Store();
  const set: WriteSet = [{ name: "m", writes: [{ key: b("a"), value: b("1") }] }];
  assert.throws(() => store.applyWriteSet(set, 2), /follows 0/);
  assert.throws(
    () =>
      store.applyWriteSet(
        [
          { name: "m", writes: [{ key: b("b"), value: null }] },
          { name: "a", writes: [{ key: b("a"), value: null }] },
        ],
        1,
      ),
    /maps are sorted/,
  );
  assert.throws(
    () =>
      store.applyWriteSet(
        [
          {
            name: "m",
            writes: [
              { key: b("b"), value: null },
              { key: b("a"), value: null },
            ],
          },
        ],
        1,
      ),
    /keys are sorted/,
  );
  assert.throws(() => store.applyWriteSet([{ name: "m", writes: [] }], 1), /at least one write/);
  assert.equal(store.version, 0);
  store.applyWriteSet(set, 1);
  assert.equal(store.version, 1);
});

test("rollback discards later versions; compact forbids rolling back below it", () => {
  const store = new Store();
  for (let i = 1; i <= 5; i++) commitOk(store, (tx) => tx.put("m", b("k"), b(String(i))));
  store.rollback(3);
  assert.equal(store.version, 3);
  assert.equal(s(store.beginTx().get("m", b("k"))), "3");
  assert.throws(() => store.snapshotAt(4), RangeError);
  commitOk(store, (tx) => tx.put("m", b("k"), b("4'")));
  assert.equal(store.version, 4);
  assert.equal(s(store.snapshotAt(4).get("m", b("k"))), "4'");
  store.compact(2);
  assert.equal(store.compactedVersion, 2);
  assert.throws(() => store.snapshotAt(1), RangeError);
  assert.equal(s(store.snapshotAt(2).get("m", b("k"))), "2");
  assert.throws(() => store.rollback(1), /below compacted/);
  assert.throws(() => store.compact(9), /above current/);
  store.rollback(2);
  assert.equal(s(store.beginTx().get("m", b("k"))), "2");
  store.rollback(2);
  assert.equal(store.version, 2);
});

test("rollback to an empty map removes it; snapshots taken before stay intact", () => {
  const store = new Store();
  commitOk(store, (tx) => tx.put("m", b("k"), b("v")));
  const before = store.snapshotAt(1);
  store.rollback(0);
  assert.deepEqual(store.snapshotAt().mapNames(), []);
  assert.deepEqual(before.mapNames(), ["m"]);
  assert.equal(s(before.get("m", b("k"))), "v");
});

test("a transaction whose snapshot a rollback discarded conflicts, even once the version is reached again", () => {
  const store = new Store();
  commitOk(store, (tx) => tx.put("m", b("k"), b("1")));
  commitOk(store, (tx) => tx.put("m", b("k"), b("2")));
  const stale = store.beginTx();
  assert.equal(s(stale.get("m", b("k"))), "2");
  stale.put("m", b("other"), b("x"));
  const older = store.beginTx();
  older.put("m", b("z"), b("z"));
  store.rollback(1);
  commitOk(store, (tx) => tx.put("n", b("unrelated"), b("2'")));
  assert.equal(store.version, 2);
  assert.equal(store.commit(stale).status, "conflict");
  // A blind writer whose snapshot (version 2) was also discarded conflicts too.
  assert.equal(store.commit(older).status, "conflict");
  const survivor = new Store();
  commitOk(survivor, (tx) => tx.put("m", b("k"), b("1")));
  const early = survivor.beginTx();
  early.get("m", b("k"));
  early.put("m", b("j"), b("x"));
  commitOk(survivor, (tx) => tx.put("n", b("a"), b("b")));
  survivor.rollback(1);
  assert.equal(survivor.commit(early).status, "ok", "its snapshot (version 1) survived the rollback");
});

test("snapshots are immutable: later commits do not change them", () => {
  const store = new Store();
  commitOk(store, (tx) => {
    for (let i = 0; i < 500; i++) tx.put("m", b(`k${String(i).padStart(4, "0")}`), b(String(i)));
  });
  const snap = store.snapshotAt();
  commitOk(store, (tx) => {
    for (let i = 0; i < 500; i += 2) tx.delete("m", b(`k${String(i).padStart(4, "0")}`));
    tx.put("m", b("new"), b("x"));
    tx.put("other", b("a"), b("b"));
  });
  assert.equal(snap.version, 1);
  assert.equal(snap.size("m"), 500);
  assert.deepEqual(snap.mapNames(), ["m"]);
  assert.equal([...snap.entries("m")].length, 500);
  assert.equal(snap.has("m", b("new")), false);
  assert.equal(store.snapshotAt().size("m"), 251);
  const reverse = [...snap.entries("m", { from: b("k0100"), to: b("k0103"), reverse: true })];
  assert.deepEqual(
    reverse.map(([k]) => s(k)),
    ["k0102", "k0101", "k0100"],
  );
});

test("Store.fromSnapshot restores every map, entry and entry version of a snapshot", () => {
  const store = new Store();
  commitOk(store, (tx) => {
    tx.put("m", b("a"), b("1"));
    tx.put("public:p", Uint8Array.of(0xff), b("x"));
  });
  commitOk(store, (tx) => tx.put("m", b("b"), b("2")));
  const snap = store.snapshotAt();
  const maps = snap.mapNames().map((name) => ({ name, entries: [...snap.versionedEntries(name)] }));
  const restored = Store.fromSnapshot(snap.version, maps);
  assert.equal(restored.version, 2);
  assert.equal(restored.compactedVersion, 2);
  assert.throws(() => restored.rollback(1), /below compacted/);
  assert.deepEqual(
    restored
      .snapshotAt()
      .mapNames()
      .map((name) => [name, [...restored.snapshotAt().versionedEntries(name)]]),
    maps.map((m) => [m.name, m.entries]),
  );
  assert.equal(restored.beginTx().versionOf("m", b("a")), 1);
  commitOk(restored, (tx) => tx.put("m", b("c"), b("3")));
  assert.equal(restored.version, 3);
  assert.throws(
    () => Store.fromSnapshot(1, [{ name: "m", entries: [{ key: b("a"), value: b("1"), version: 2 }] }]),
    /within the snapshot/,
  );
  assert.throws(
    () =>
      Store.fromSnapshot(5, [
        {
          name: "m",
          entries: [
            { key: b("b"), value: b("1"), version: 1 },
            { key: b("a"), value: b("1"), version: 1 },
          ],
        },
      ]),
    /keys are sorted/,
  );
});

test("contentToken: the same while a map is unwritten, new after a write to it, the old one again after a rollback", () => {
  const store = new Store();
  const empty = store.beginTx().contentToken("m");
  assert.equal(store.beginTx().contentToken("other"), empty, "every empty map has one token");
  commitOk(store, (tx) => tx.put("m", b("a"), b("1")));
  const v1 = store.beginTx().contentToken("m");
  assert.notEqual(v1, empty);
  commitOk(store, (tx) => tx.put("other", b("x"), b("1")));
  assert.equal(store.beginTx().contentToken("m"), v1, "a write to another map keeps the token");
  const reader = store.beginTx();
  commitOk(store, (tx) => tx.put("m", b("a"), b("2")));
  assert.notEqual(store.beginTx().contentToken("m"), v1, "a write to the map changes it");
  assert.equal(reader.contentToken("m"), v1, "an older snapshot keeps its token");
  store.rollback(2);
  assert.equal(store.beginTx().contentToken("m"), v1, "rolled back: the token of that content again");
  commitOk(store, (tx) => tx.delete("m", b("a")));
  assert.equal(store.beginTx().contentToken("m"), empty, "emptied: the empty token");
  const own = store.beginTx();
  own.put("m", b("z"), b("1"));
  assert.equal(own.contentToken("m"), empty, "a transaction's own writes do not change it");
});

test("Store.contentToken is the token a transaction begun now reads, without one", () => {
  const store = new Store();
  assert.equal(store.contentToken("m"), store.beginTx().contentToken("m"));
  commitOk(store, (tx) => tx.put("m", b("a"), b("1")));
  const v1 = store.contentToken("m");
  assert.equal(v1, store.beginTx().contentToken("m"));
  assert.notEqual(v1, store.contentToken("other"));
  commitOk(store, (tx) => tx.put("m", b("a"), b("2")));
  assert.notEqual(store.contentToken("m"), v1);
  store.rollback(1);
  assert.equal(store.contentToken("m"), v1, "after a rollback, that version's token");
  assert.throws(() => store.contentToken(""), /map name/);
});

test("versionedEntriesLatin1 is versionedEntries as latin1 strings, and resumes across later commits", () => {
  const store = new Store();
  commitOk(store, (tx) => {
    for (let i = 0; i < 100; i++) tx.put("m", Uint8Array.of(i, 0xff - i), Uint8Array.of(0, 0x80, i));
  });
  commitOk(store, (tx) => tx.put("m", Uint8Array.of(5, 0xfa), b("second")));
  const snap = store.snapshotAt();
  const latin1 = (bytes: Uint8Array) => String.fromCharCode(...bytes);
  const walk = snap.versionedEntriesLatin1("m");
  const firstHalf = Array.from({ length: 50 }, () => walk.next().value);
  commitOk(store, (tx) => {
    tx.delete("m", Uint8Array.of(60, 0xff - 60));
    tx.put("m", Uint8Array.of(61, 0), b("between"));
    tx.put("m", Uint8Array.of(70, 0xff - 70), b("changed"));
  });
  const all = [...firstHalf, ...walk].map((e) => e && [e[0], e[1].value, e[1].version]);
  const expected = [...snap.versionedEntries("m")].map((e) => [latin1(e.key), latin1(e.value), e.version]);
  assert.deepEqual(all, expected);
  assert.equal(all.length, 100);
  assert.deepEqual(all[5], [latin1(Uint8Array.of(5, 0xfa)), "second", 2]);
  assert.deepEqual([...snap.versionedEntriesLatin1("absent")], []);
});
