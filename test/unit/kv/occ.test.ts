import assert from "node:assert/strict";
import { test } from "node:test";
import { Store, type Tx } from "../../../src/kv/index.ts";
import { CoterieError } from "../../../src/util/errors.ts";
import { b, k32, s } from "./helpers.ts";

function put(store: Store, map: string, key: Uint8Array, value: string): void {
  const tx = store.beginTx();
  tx.put(map, key, b(value));
  assert.equal(store.commit(tx).status, "ok");
}

test("snapshot isolation: a transaction does not see later commits", () => {
  const store = new Store();
  put(store, "m", b("k"), "v1");
  const tx = store.beginTx();
  assert.equal(tx.readVersion, 1);
  put(store, "m", b("k"), "v2");
  put(store, "m", b("new"), "x");
  assert.equal(s(tx.get("m", b("k"))), "v1");
  assert.equal(tx.get("m", b("new")), undefined);
  assert.deepEqual(
    tx.range("m", { limit: 10 }).entries.map(([k]) => s(k)),
    ["k"],
  );
  assert.equal(s(store.beginTx().get("m", b("k"))), "v2");
});

/** Runs `read` in a transaction, commits a concurrent `write`, then commits the first one. */
function raced(read: (tx: Tx) => void, write: (tx: Tx) => void, seed?: (tx: Tx) => void): string {
  const store = new Store();
  const setup = store.beginTx();
  setup.put("m", k32(10), b("ten"));
  setup.put("m", k32(20), b("twenty"));
  seed?.(setup);
  store.commit(setup);
  const tx = store.beginTx();
  read(tx);
  tx.put("out", b("result"), b("x"));
  const other = store.beginTx();
  write(other);
  assert.equal(store.commit(other).status, "ok");
  return store.commit(tx).status;
}

test("conflict when a key the transaction read was written after its snapshot", () => {
  assert.equal(
    raced(
      (tx) => tx.get("m", k32(10)),
      (tx) => tx.put("m", k32(10), b("changed")),
    ),
    "conflict",
  );
  assert.equal(
    raced(
      (tx) => tx.has("m", k32(10)),
      (tx) => tx.delete("m", k32(10)),
    ),
    "conflict",
  );
  assert.equal(
    raced(
      (tx) => tx.versionOf("m", k32(10)),
      (tx) => tx.put("m", k32(10), b("same? no, new version")),
    ),
    "conflict",
  );
});

test("conflict when an absent key the transaction looked up is created", () => {
  assert.equal(
    raced(
      (tx) => assert.equal(tx.get("m", k32(15)), undefined),
      (tx) => tx.put("m", k32(15), b("born")),
    ),
    "conflict",
  );
});

test("conflict on phantoms: a key inserted into or removed from an iterated range", () => {
  const scan = (tx: Tx) => tx.range("m", { from: k32(5), to: k32(25), limit: 10 });
  assert.equal(
    raced(scan, (tx) => tx.put("m", k32(15), b("phantom"))),
    "conflict",
  );
  assert.equal(
    raced(scan, (tx) => tx.delete("m", k32(20))),
    "conflict",
  );
  assert.equal(
    raced(
      (tx) => tx.forEach("m", () => {}),
      (tx) => tx.put("m", k32(99), b("x")),
    ),
    "conflict",
  );
  // Outside the range, or beyond `to`: no conflict.
  assert.equal(
    raced(scan, (tx) => tx.put("m", k32(25), b("at to"))),
    "ok",
  );
  assert.equal(
    raced(scan, (tx) => tx.put("m", k32(4), b("before from"))),
    "ok",
  );
});

test("a page that stopped at its limit depends only on what it saw (and the next key)", () => {
  const firstPage = (tx: Tx) => assert.equal(tx.range("m", { limit: 1 }).entries.length, 1);
  // The page saw key 10 and peeked key 20 (to know whether to return a cursor).
  assert.equal(
    raced(firstPage, (tx) => tx.put("m", k32(30), b("later"))),
    "ok",
  );
  assert.equal(
    raced(firstPage, (tx) => tx.put("m", k32(15), b("between"))),
    "conflict",
  );
  assert.equal(
    raced(firstPage, (tx) => tx.put("m", k32(20), b("peeked"))),
    "conflict",
  );
  const lastFirst = (tx: Tx) => tx.range("m", { limit: 1, reverse: true });
  assert.equal(
    raced(lastFirst, (tx) => tx.put("m", k32(5), b("early"))),
    "ok",
  );
  assert.equal(
    raced(lastFirst, (tx) => tx.put("m", k32(25), b("late"))),
    "conflict",
  );
});

test("no conflict for disjoint keys, other maps, or blind writes", () => {
  assert.equal(
    raced(
      (tx) => tx.get("m", k32(10)),
      (tx) => tx.put("m", k32(20), b("other key")),
    ),
    "ok",
  );
  assert.equal(
    raced(
      (tx) => tx.get("m", k32(10)),
      (tx) => tx.put("n", k32(10), b("other map")),
    ),
    "ok",
  );
  assert.equal(
    raced(
      (tx) => tx.put("m", k32(10), b("blind")),
      (tx) => tx.put("m", k32(10), b("also blind")),
    ),
    "ok",
  );
  // Reading one's own write does not depend on the snapshot.
  assert.equal(
    raced(
      (tx) => {
        tx.put("m", k32(10), b("mine"));
        tx.get("m", k32(10));
      },
      (tx) => tx.put("m", k32(10), b("theirs")),
    ),
    "ok",
  );
});

test("a transaction older than the conflict window conflicts", () => {
  const store = new Store({ conflictWindowVersions: 3 });
  const tx = store.beginTx();
  tx.get("m", b("unrelated"));
  tx.put("m", b("x"), b("1"));
  for (let i = 0; i < 5; i++) put(store, "n", k32(i), "v");
  assert.equal(store.commit(tx).status, "conflict");
  const recent = store.beginTx();
  recent.get("m", b("unrelated"));
  recent.put("m", b("x"), b("1"));
  for (let i = 0; i < 3; i++) put(store, "n", k32(i), "w");
  assert.equal(store.commit(recent).status, "ok");
});

test("runTransaction commits, and re-runs the handler on conflict", async () => {
  const store = new Store();
  put(store, "m", b("counter"), "0");
  let runs = 0;
  const { result, commit } = await store.runTransaction(
    async (tx) => {
      runs++;
      const value = Number(s(tx.get("m", b("counter"))));
      await Promise.resolve();
      if (runs === 1) put(store, "m", b("counter"), "100"); // a concurrent commit during the await
      tx.put("m", b("counter"), b(String(value + 1)));
      return value;
    },
    { attemptsMax: 3 },
  );
  assert.equal(runs, 2);
  assert.equal(result, 100);
  assert.ok(commit.status === "ok");
  assert.equal(commit.version, 3);
  assert.equal(s(store.beginTx().get("m", b("counter"))), "101");
});

test("runTransaction throws COTERIE_ERR_KV_CONFLICT after attemptsMax conflicts and applies nothing", async () => {
  const store = new Store();
  let runs = 0;
  await assert.rejects(
    store.runTransaction(
      (tx) => {
        runs++;
        tx.get("m", b("hot"));
        tx.put("m", b("mine"), b("x"));
        put(store, "m", b("hot"), String(runs));
      },
      { attemptsMax: 4 },
    ),
    (error: unknown) =>
      error instanceof CoterieError && error.code === "COTERIE_ERR_KV_CONFLICT" && error.status === 409,
  );
  assert.equal(runs, 4);
  assert.equal(store.beginTx().has("m", b("mine")), false);
  await assert.rejects(
    store.runTransaction(() => 1, { attemptsMax: 0 }),
    RangeError,
  );
});

test("a handler that throws applies nothing", async () => {
  const store = new Store();
  await assert.rejects(
    store.runTransaction(
      (tx) => {
        tx.put("m", b("k"), b("v"));
        throw new Error("handler failed");
      },
      { attemptsMax: 3 },
    ),
    /handler failed/,
  );
  await assert.rejects(
    store.runTransaction(
      async (tx) => {
        tx.put("m", b("k"), b("v"));
        throw new Error("async handler failed");
      },
      { attemptsMax: 3 },
    ),
    /async handler failed/,
  );
  assert.equal(store.version, 0);
  assert.equal(store.beginTx().has("m", b("k")), false);
});

test("runTransaction passes reservedWrites to the transaction", async () => {
  const store = new Store();
  await assert.rejects(
    store.runTransaction((tx) => tx.put("coterie.x", b("k"), b("v")), {
      attemptsMax: 1,
      reservedWrites: false,
    }),
    (error: unknown) => error instanceof CoterieError && error.code === "COTERIE_ERR_KV_RESERVED_MAP",
  );
  const { commit } = await store.runTransaction((tx) => tx.put("coterie.x", b("k"), b("v")), {
    attemptsMax: 1,
  });
  assert.equal(commit.status, "ok");
});

test("applied write sets keep no conflict log: earlier snapshots conflict, later commits are checked precisely", () => {
  const store = new Store();
  put(store, "m", b("a"), "1");
  const before = store.beginTx();
  before.get("m", b("a"));
  before.put("m", b("mine"), b("x"));
  // A backup's or a replay's write set that touches nothing `before` read.
  store.applyWriteSet([{ name: "m", writes: [{ key: b("z"), value: b("2") }] }], 2);
  // The log cannot tell what version 2 wrote, so a snapshot older than it conflicts, as one
  // older than the window does.
  assert.equal(store.commit(before).status, "conflict");
  // Once this store commits again (a backup become primary), the log is exact from there on.
  const reader = store.beginTx();
  reader.get("m", b("a"));
  reader.put("m", b("r"), b("x"));
  put(store, "m", b("other"), "y");
  assert.equal(store.commit(reader).status, "ok");
  const stale = store.beginTx();
  stale.get("m", b("other"));
  stale.put("m", b("s"), b("x"));
  put(store, "m", b("other"), "z");
  assert.equal(store.commit(stale).status, "conflict");
});
