// The history index over committed transactions: queries by key and by map answer what a naive
// scan of everything written answers (public and private maps, deletes, ranges), only committed
// entries are indexed, and the read policy filters historical results like direct reads.
import assert from "node:assert/strict";
import { test } from "node:test";
import { utf8 } from "../../../src/kv/index.ts";
import type { Engine } from "../../../src/node/engine.ts";
import { historicalReader } from "../../../src/node/historical.ts";
import { HistoryIndex, historyIndexOf } from "../../../src/node/indexes.ts";

import { makeEngine as makeEngineWith } from "../node/engine-fixture.ts";

const makeEngine = () => makeEngineWith({ signatureIntervalMs: 60_000 });

type Model = Array<{ seqno: number; map: string; key: string; value: string | null }>;

/** Writes a deterministic mix to a public and a private map; returns what was written. */
async function writeMix(engine: Engine, n: number): Promise<Model> {
  const model: Model = [];
  for (let i = 0; i < n; i++) {
    const map = i % 2 === 0 ? "public:pub" : "priv";
    const key = `k${i % 7}`;
    const value = i % 11 === 10 ? null : JSON.stringify({ owner: i % 3 === 0 ? "alice" : "bob", i });
    const { txId } = await engine.execute(
      (tx) => {
        if (value === null) tx.typed(map, utf8, utf8).delete(key);
        else tx.typed(map, utf8, utf8).put(key, value);
      },
      { reservedWrites: false },
    );
    model.push({ seqno: txId?.seqno as number, map, key, value });
  }
  return model;
}

test("by key and by map, the index answers what the naive model answers; only committed entries count", async () => {
  const engine = await makeEngine();
  const model = await writeMix(engine, 60);
  const index = new HistoryIndex(engine);
  index.catchUp(1000);
  assert.equal(index.indexedSeqno, 0, "nothing is committed before a signature");
  engine.appendSignature();
  const last = model.at(-1)?.seqno as number;
  await engine.waitForCommit({ view: engine.view, seqno: last }, 5000);
  index.catchUp(1000);
  assert.equal(index.indexedSeqno, engine.committedSeqno);
  for (const map of ["public:pub", "priv"]) {
    for (const key of ["k0", "k3", "k6", "missing"]) {
      for (const [from, to] of [
        [1, last],
        [10, 30],
        [31, 31],
      ] as const) {
        const want = model
          .filter((w) => w.map === map && w.key === key && w.seqno >= from && w.seqno <= to)
          .map((w) => w.seqno);
        assert.deepEqual(
          index.keySeqnos(map, utf8.encode(key), from, to),
          want,
          `${map} ${key} ${from}-${to}`,
        );
      }
    }
    assert.deepEqual(
      index.mapSeqnos(map, 1, last),
      model.filter((w) => w.map === map).map((w) => w.seqno),
    );
  }
  const reader = historicalReader(engine);
  const got = reader
    .writes("priv", utf8.encode("k1"), 1, last)
    .map((w) => [w.seqno, w.value === null ? null : utf8.decode(w.value)]);
  assert.deepEqual(
    got,
    model.filter((w) => w.map === "priv" && w.key === "k1").map((w) => [w.seqno, w.value]),
  );
  const page = reader.mapWrites("public:pub", 1, last, 5);
  assert.deepEqual(
    page.map((w) => w.seqno),
    model
      .filter((w) => w.map === "public:pub")
      .slice(0, 5)
      .map((w) => w.seqno),
  );
  await engine.close();
});

test("historical reads apply the read policy: hidden versions and confidential deletes are left out", async () => {
  const engine = await makeEngine();
  const model = await writeMix(engine, 40);
  engine.appendSignature();
  const last = model.at(-1)?.seqno as number;
  await engine.waitForCommit({ view: engine.view, seqno: last }, 5000);
  historyIndexOf(engine).catchUp(1000);
  const spec = { name: "priv", readableBy: ["owner"] };
  const alice = historicalReader(engine, { specs: [spec], readerParties: ["alice"] });
  const want = model.filter(
    (w) => w.map === "priv" && w.value !== null && JSON.parse(w.value).owner === "alice",
  );
  assert.deepEqual(
    alice.mapWrites("priv", 1, last, 1000).map((w) => w.seqno),
    want.map((w) => w.seqno),
  );
  assert.deepEqual(
    historicalReader(engine, { specs: [spec], readerParties: [] }).mapWrites("priv", 1, last, 1000),
    [],
  );
  assert.throws(() => alice.writes("priv", utf8.encode("k1"), 5, 4), /from <= to/);
  await engine.close();
});

test("a one-map index keeps only that map, reads no announced entry back, and reads the rest from the ledger", async () => {
  const engine = await makeEngine();
  // Written before the index exists: read back from the ledger (public writes only, no secret).
  const early = await writeMix(engine, 10);
  const index = new HistoryIndex(engine, { maps: new Set(["public:pub"]) });
  const late = await writeMix(engine, 20);
  engine.appendSignature();
  const last = late.at(-1)?.seqno as number;
  await engine.waitForCommit({ view: engine.view, seqno: last }, 5000);
  const files = engine.ledger.files;
  const read = files.read.bind(files);
  const reads: number[] = [];
  files.read = (seqno: number) => {
    reads.push(seqno);
    return read(seqno);
  };
  try {
    index.catchUp(1000);
  } finally {
    files.read = read;
  }
  assert.equal(index.indexedSeqno, engine.committedSeqno);
  const firstLate = late[0]?.seqno as number;
  assert.deepEqual(
    [...new Set(reads)],
    early.map((w) => w.seqno),
    "only the entries written before the index existed are read back (seqno 1 also as a probe)",
  );
  const model = [...early, ...late];
  assert.deepEqual(
    index.mapSeqnos("public:pub", 1, last),
    model.filter((w) => w.map === "public:pub").map((w) => w.seqno),
  );
  assert.deepEqual(index.mapSeqnos("priv", 1, last), [], "other maps are not indexed");
  assert.deepEqual(
    index.keySeqnos("public:pub", utf8.encode("k0"), firstLate, last),
    late.filter((w) => w.map === "public:pub" && w.key === "k0").map((w) => w.seqno),
  );
  await engine.close();
});

test("the full index is made by the first historical query, and answers 503 until it covers a long range", async () => {
  const { hasHistoryIndex, indexBatchEntriesMax } = await import("../../../src/node/indexes.ts");
  const { historicalRangeMax } = await import("../../../src/node/historical.ts");
  const engine = await makeEngine();
  const n = historicalRangeMax + 10;
  const k0: number[] = []; // seqnos that wrote k0, in order
  for (let i = 0; i < n; i++) {
    const { txId } = await engine.execute((tx) => tx.typed("priv", utf8, utf8).put(`k${i % 3}`, String(i)), {
      reservedWrites: false,
    });
    if (i % 3 === 0) k0.push(txId?.seqno as number);
  }
  const last = engine.lastSeqno;
  engine.appendSignature();
  await engine.waitForCommit({ view: engine.view, seqno: last }, 10_000);
  assert.equal(hasHistoryIndex(engine), false, "nothing has asked a historical question yet");
  const reader = historicalReader(engine);
  // Within the direct-read bound, the first query answers at once from the ledger.
  const recent = reader.writes("priv", utf8.encode("k0"), last - 30, last);
  assert.deepEqual(
    recent.map((w) => w.seqno),
    k0.filter((s) => s >= last - 30),
  );
  assert.equal(hasHistoryIndex(engine), true);
  const index = historyIndexOf(engine);
  assert.ok(index.indexedSeqno < engine.committedSeqno - historicalRangeMax, "not caught up yet");
  assert.throws(
    () => reader.writes("priv", utf8.encode("k0"), 1, last),
    (e: unknown) =>
      e instanceof Error &&
      (e as { code?: string }).code === "COTERIE_ERR_HISTORY_NOT_READY" &&
      (e as { status?: number }).status === 503,
  );
  while (index.indexedSeqno < engine.committedSeqno) index.catchUp(indexBatchEntriesMax);
  const all = reader.writes("priv", utf8.encode("k0"), 1, last);
  assert.deepEqual(
    all.map((w) => w.seqno),
    k0,
  );
  assert.equal(utf8.decode(all.at(-1)?.value as Uint8Array), String((k0.length - 1) * 3));
  index.stop();
  await engine.close();
});

test("built at start, the full index covers everything committed before the node serves", async () => {
  const { buildHistoryIndex, hasHistoryIndex } = await import("../../../src/node/indexes.ts");
  const engine = await makeEngine();
  const model = await writeMix(engine, 30);
  engine.appendSignature();
  const last = model.at(-1)?.seqno as number;
  await engine.waitForCommit({ view: engine.view, seqno: last }, 5000);
  assert.equal(hasHistoryIndex(engine), false);
  const index = buildHistoryIndex(engine);
  assert.equal(index.indexedSeqno, engine.committedSeqno, "caught up before returning");
  assert.equal(historyIndexOf(engine), index, "the one index that queries use");
  assert.deepEqual(
    index.mapSeqnos("priv", 1, last),
    model.filter((w) => w.map === "priv").map((w) => w.seqno),
  );
  index.stop();
  await engine.close();
});
