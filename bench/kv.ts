// Benchmark of the in-memory store (not a test): resident memory with 1,000,000 records of
// 16-byte keys and 32-byte values, gets/s on that store, and commits/s of 1-put transactions —
// each beside a plain `Map` doing the same work in the same run, so the ratio is what to compare.
// Inserts commit 1000 puts per transaction and compact after each commit, as a node whose commits
// keep up would; retained (uncompacted) versions cost extra memory, see src/kv/README.md.
// Usage: node --expose-gc bench/kv.ts [records]
import { Store } from "../src/kv/index.ts";

const recordCount = Number(process.argv[2] ?? 1_000_000);
const batchPuts = 1000;
const getCount = 1_000_000;
const getsPerTx = 100;
const commitCount = 200_000;
/** Like a node: compact committed history every so often so rollback history stays bounded. */
const compactEveryVersions = 1000;

/** Deterministic pseudo-random bytes (xorshift32), so every run inserts the same records. */
function randomBytes(count: number, seed: number): Uint8Array {
  const out = new Uint8Array(count);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < count; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(0)} MiB`;
}

function settle(): NodeJS.MemoryUsage {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage();
}

function rate(count: number, startMs: number): string {
  const perSecond = count / ((performance.now() - startMs) / 1000);
  return `${Math.round(perSecond).toLocaleString("en-US")}/s`;
}

const keys = randomBytes(recordCount * 16, 1);
const values = randomBytes(recordCount * 32, 2);
const keyAt = (i: number) => keys.subarray(i * 16, i * 16 + 16);
const valueAt = (i: number) => values.subarray(i * 32, i * 32 + 32);

const before = settle();
const store = new Store();
let start = performance.now();
for (let first = 0; first < recordCount; first += batchPuts) {
  const tx = store.beginTx();
  for (let i = first; i < Math.min(first + batchPuts, recordCount); i++)
    tx.put("public:records", keyAt(i), valueAt(i));
  const result = store.commit(tx);
  if (result.status !== "ok") throw new Error(`insert batch ${first} did not commit`);
  store.compact(store.version);
}
const insertRate = rate(recordCount, start);
const after = settle();
const records = store.snapshotAt().size("public:records");
console.log(
  `insert ${records.toLocaleString("en-US")} records (16 B keys, 32 B values, ${batchPuts} per tx): ${insertRate}`,
);
console.log(
  `memory: rss ${mib(after.rss)} (+${mib(after.rss - before.rss)}), heapUsed +${mib(after.heapUsed - before.heapUsed)}` +
    `${"gc" in globalThis ? "" : " (run with --expose-gc for settled numbers)"}`,
);

const baseline = new Map<string, string>();
const latin1 = (bytes: Uint8Array) => String.fromCharCode.apply(null, bytes as unknown as number[]);
for (let i = 0; i < recordCount; i++) baseline.set(latin1(keyAt(i)), latin1(valueAt(i)));

start = performance.now();
let found = 0;
for (let first = 0; first < getCount; first += getsPerTx) {
  const tx = store.beginTx();
  for (let n = first; n < first + getsPerTx; n++)
    if (tx.get("public:records", keyAt((n * 7919) % recordCount))) found++;
}
const getRate = rate(getCount, start);
start = performance.now();
for (let n = 0; n < getCount; n++) if (baseline.get(latin1(keyAt((n * 7919) % recordCount)))) found++;
console.log(
  `get (1M records, ${getsPerTx} per tx): store ${getRate}, plain Map ${rate(getCount, start)} [${found}]`,
);

const fresh = randomBytes(commitCount * 16, 3);
const value = valueAt(0);
start = performance.now();
for (let n = 0; n < commitCount; n++) {
  const one = store.beginTx();
  one.put("public:records", fresh.subarray(n * 16, n * 16 + 16), value);
  if (store.commit(one).status !== "ok") throw new Error("1-put commit did not commit");
  if (store.version % compactEveryVersions === 0) store.compact(store.version);
}
const commitRate = rate(commitCount, start);
start = performance.now();
for (let n = 0; n < commitCount; n++)
  baseline.set(latin1(fresh.subarray(n * 16, n * 16 + 16)), latin1(value));
console.log(
  `commit of 1-put transactions (on 1M records): store ${commitRate}, plain Map.set ${rate(commitCount, start)}`,
);
