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
