// The streaming snapshot writer against the one-shot encoder: the same bytes and digest for every
// shape of state (no maps, public only, private only, both, deleted keys, a map emptied by deletes,
// multi-byte map names, versions above 2^32, keys and values larger than a chunk) at chunk sizes
// from the smallest allowed up; the event loop turns between chunks; later commits do not leak in.
import assert from "node:assert/strict";
import { test } from "node:test";
import { type Snapshot, Store, utf8 } from "../../../src/kv/index.ts";
import { decodeSnapshot, encodeSnapshot, snapshotDigest } from "../../../src/ledger/snapshot.ts";
import { type SnapshotStreamOptions, writeSnapshotStream } from "../../../src/ledger/snapshot-stream.ts";

const secret = { version: 7, key: new Uint8Array(32).fill(3) };
const nonce = new Uint8Array(12).fill(9);
const frontier = [new Uint8Array(32).fill(1), new Uint8Array(32).fill(2)];
const viewStarts: Array<[number, number]> = [
  [1, 1],
  [3, 40],
];

function storeWith(build: (put: (map: string, key: string, value: string) => void) => void): Store {
  const store = new Store();
  const tx = store.beginTx();
  build((map, key, value) => tx.typed(map, utf8, utf8).put(key, value));
  store.commit(tx);
  return store;
}

/** The whole file the stream writes; `observe` sees each chunk as the sink receives it. */
async function streamed(
  kv: Snapshot,
  options: SnapshotStreamOptions = {},
  observe: (chunk: Buffer) => void = () => {},
) {
  const chunks: Buffer[] = [];
  const result = await writeSnapshotStream(
    kv,
    frontier,
    viewStarts,
    secret,
    async (chunk) => {
      observe(chunk);
      chunks.push(Buffer.from(chunk)); // the writer reuses its chunk
    },
    { nonce, ...options },
  );
  return { file: Buffer.concat(chunks), ...result };
}

function shapes(): Array<[string, Store]> {
  const both = storeWith((put) => {
    for (let i = 0; i < 300; i++) {
      put("records", `k${i}`, `value ${i}`.repeat(i % 7));
      put("public:records", `p${i}`, `w${i}`);
      put("public:é-ünïcode", `${i}`, "");
      put("gone", `g${i}`, "x");
    }
  });
  const tx = both.beginTx();
  for (let i = 0; i < 300; i += 3) tx.typed("records", utf8, utf8).delete(`k${i}`);
  for (let i = 0; i < 300; i++) tx.typed("gone", utf8, utf8).delete(`g${i}`);
  both.commit(tx);
  const highVersions = Store.fromSnapshot(2 ** 32 + 10, [
    {
      name: "public:v",
      entries: [
        { key: new Uint8Array([0]), value: new Uint8Array(0), version: 1 },
        { key: new Uint8Array([1]), value: new Uint8Array([255, 0, 128]), version: 2 ** 32 + 7 },
      ],
    },
    { name: "v", entries: [{ key: new Uint8Array([2]), value: new Uint8Array([1]), version: 2 ** 32 + 10 }] },
  ]);
  const large = storeWith((put) => {
    put("records", "k".repeat(3000), "v".repeat(5000));
    put("records", "small", "s");
    put("public:records", "p", String.fromCharCode(...Array.from({ length: 4000 }, (_, i) => i % 256)));
  });
  return [
    ["no maps", new Store()],
    ["public only", storeWith((put) => put("public:a", "k", "v"))],
    ["private only", storeWith((put) => put("a", "k", "v"))],
    ["both, with deletes and a map emptied by them", both],
    ["versions above 2^32", highVersions],
    ["keys and values larger than a chunk", large],
  ];
}

test("the stream is byte for byte the one-shot encoding, at every chunk size", async () => {
  for (const [shape, store] of shapes()) {
    const kv = store.snapshotAt();
    const oneShot = encodeSnapshot(kv, frontier, viewStarts, secret, nonce);
    for (const chunkBytes of [8, 13, 64, 1000, 1 << 20]) {
      for (const entriesPerTurnMax of [1, 5, 16_384]) {
        const s = await streamed(kv, { chunkBytes, entriesPerTurnMax, sizingEntriesPerTurnMax: 7 });
        const where = `${shape}, ${chunkBytes}-byte chunks, ${entriesPerTurnMax} entries per turn`;
        assert.ok(s.file.equals(oneShot), where);
        assert.equal(s.bytes, oneShot.length, where);
        assert.equal(s.digest, snapshotDigest(oneShot), where);
      }
    }
    const decoded = decodeSnapshot(oneShot, secret);
    assert.equal(decoded.seqno, kv.version, shape);
  }
});

test("a stream with a random nonce decodes to the state", async () => {
  const [, store] = shapes()[3] as [string, Store];
  const kv = store.snapshotAt();
  const chunks: Buffer[] = [];
  await writeSnapshotStream(kv, frontier, viewStarts, secret, async (c) => void chunks.push(Buffer.from(c)));
  const decoded = decodeSnapshot(Buffer.concat(chunks), secret);
  assert.deepEqual(
    decoded.maps.map((m) => m.name),
    ["public:records", "public:é-ünïcode", "records"],
  );
  const records = decoded.maps.find((m) => m.name === "records");
  assert.equal([...(records?.entries ?? [])].length, 200);
  assert.equal(
    decoded.maps.some((m) => m.name === "gone"),
    false,
  );
});

test("the event loop turns between chunks, and commits meanwhile do not change the file", async () => {
  const store = new Store();
  const n = 10_000;
  for (let i = 0; i < n; i += 1000) {
    const tx = store.beginTx();
    for (let j = i; j < i + 1000; j++) tx.typed("records", utf8, utf8).put(`k${j}`, `v${j}`);
    store.commit(tx);
  }
  const kv = store.snapshotAt();
  const before = encodeSnapshot(kv, frontier, viewStarts, secret, nonce);
  // A ticker on the check phase: if the writer never yielded a turn, it would not move between
  // two chunks (the sink resolves at once, on the microtask queue).
  let ticks = 0;
  let ticking = true;
  const tick = () => {
    ticks++;
    if (ticking) setImmediate(tick);
  };
  setImmediate(tick);
  const calls: Array<{ ticks: number; bytes: number }> = [];
  let committedMeanwhile = false;
  const result = await streamed(
    kv,
    { chunkBytes: 1 << 20, entriesPerTurnMax: 500, sizingEntriesPerTurnMax: 2000 },
    (chunk) => {
      calls.push({ ticks, bytes: chunk.length });
      if (!committedMeanwhile) {
        committedMeanwhile = true;
        const tx = store.beginTx();
        tx.typed("records", utf8, utf8).put("k0", "changed");
        tx.typed("records", utf8, utf8).delete("k9999");
        tx.typed("public:new", utf8, utf8).put("a", "b");
        store.commit(tx);
      }
    },
  );
  ticking = false;
  assert.ok(result.file.equals(before), "the file is the state at the snapshot's version");
  // 10,000 entries at 500 per turn: 20 chunks of entries, and 5 turns of sizing.
  assert.ok(result.turns >= n / 500 + n / 2000, `turns ${result.turns}`);
  // Chunks with entries (not the 12-byte nonce or the 16-byte tag, written between turns).
  const chunked = calls.filter((c) => c.bytes > 100);
  assert.ok(chunked.length >= n / 500, `${chunked.length} chunks`);
  for (let i = 1; i < chunked.length; i++)
    assert.ok(
      (chunked[i] as { ticks: number }).ticks > (chunked[i - 1] as { ticks: number }).ticks,
      `the event loop turned between chunks ${i - 1} and ${i}: ${JSON.stringify(calls)}`,
    );
});
