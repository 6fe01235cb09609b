// Benchmark (not a test): how long producing a snapshot holds the event loop, and how much it adds
// to the peak resident memory, for a store of N logging-app records (private map `records`, key the
// id, value "benchmark record <id> abcdefghijklmnopqrstuvwxyz").
//   --path stream    what the snapshot service does: writeSnapshotFile (chunks across turns, fsync)
//   --path one-shot  what it did before: collectSnapshotMaps (20,000 entries per turn), then
//                    encodeSnapshotOf, SHA-256 and writeSync + fsync in one turn
// Prints the fill time, the production's wall time, the longest gap between ticks of a 1 ms
// interval timer during it, and the rise of VmHWM (peak RSS, /proc/self/status) during it: the
// peak is reset (/proc/self/clear_refs) after the fill and a GC, so the fill's garbage does not
// mask it. Run each path in its own process, alternating, and take medians.
// Usage: node --expose-gc bench/snapshot-stall.ts [records] [--path stream|one-shot] [--chunk-bytes N]
import { closeSync, fsyncSync, mkdtempSync, openSync, rmSync, statSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Store, utf8 } from "../src/kv/index.ts";
import { collectSnapshotMaps, encodeSnapshotOf, snapshotDigest } from "../src/ledger/snapshot.ts";
import {
  SNAPSHOT_CHUNK_BYTES,
  SNAPSHOT_ENTRIES_PER_TURN_MAX,
  SNAPSHOT_SIZING_ENTRIES_PER_TURN_MAX,
} from "../src/ledger/snapshot-stream.ts";
import { writeSnapshotFile } from "../src/node/snapshot-service.ts";
import { watchLoop } from "./loop-watch.ts";

const recordCount = Number(process.argv.find((a, i) => i > 1 && /^\d+$/.test(a)) ?? 1_000_000);
const pathArg = process.argv.indexOf("--path");
const path = pathArg > 0 ? process.argv[pathArg + 1] : "stream";
if (path !== "stream" && path !== "one-shot") throw new RangeError("--path is stream or one-shot");
const chunkArg = process.argv.indexOf("--chunk-bytes");
/** The stream's chunk (default SNAPSHOT_CHUNK_BYTES); entries per turn scale with it. */
const chunkBytes = chunkArg > 0 ? Number(process.argv[chunkArg + 1]) : SNAPSHOT_CHUNK_BYTES;
const streamOptions = {
  chunkBytes,
  entriesPerTurnMax: Math.round((SNAPSHOT_ENTRIES_PER_TURN_MAX * chunkBytes) / SNAPSHOT_CHUNK_BYTES),
  sizingEntriesPerTurnMax: Math.round(
    (SNAPSHOT_SIZING_ENTRIES_PER_TURN_MAX * chunkBytes) / SNAPSHOT_CHUNK_BYTES,
  ),
};
const batchPuts = 1000;

const mib = (kib: number) => `${(kib / 1024).toFixed(0)} MiB`;
const ms = (x: number) => `${x.toFixed(0)} ms`;

let start = performance.now();
const store = new Store();
for (let first = 0; first < recordCount; first += batchPuts) {
  const tx = store.beginTx();
  const records = tx.typed("records", utf8, utf8);
  for (let id = first; id < Math.min(first + batchPuts, recordCount); id++)
    records.put(String(id), `benchmark record ${id} abcdefghijklmnopqrstuvwxyz`);
  if (store.commit(tx).status !== "ok") throw new Error(`insert batch ${first} did not commit`);
  store.compact(store.version);
}
const fillMs = performance.now() - start;

const dir = mkdtempSync(join(tmpdir(), "coterie-snapshot-stall-"));
const file = join(dir, `snapshot_${store.version}`);
const secret = { version: 1, key: new Uint8Array(32).fill(7) };
const frontier = [new Uint8Array(32)];
const viewStarts: Array<[number, number]> = [[1, 1]];
const kv = store.snapshotAt(store.version);

const watch = watchLoop();
start = performance.now();
let turns = 0;
if (path === "stream") {
  turns = (await writeSnapshotFile(file, kv, frontier, viewStarts, secret, streamOptions)).turns;
} else {
  const maps = await collectSnapshotMaps(kv);
  const bytes = encodeSnapshotOf(kv.version, maps, frontier, viewStarts, secret);
  snapshotDigest(bytes);
  const fd = openSync(file, "w", 0o600);
  for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at);
  fsyncSync(fd);
  closeSync(fd);
}
const productionMs = performance.now() - start;
const { gapMaxMs, ticks, rssBeforeKiB, peakRiseKiB } = watch.stop();
const fileBytes = statSync(file).size;
rmSync(dir, { recursive: true, force: true });

console.log(
  JSON.stringify({
    path,
    ...(path === "stream" ? { chunkBytes } : {}),
    records: recordCount,
    fillMs: Math.round(fillMs),
    productionMs: Math.round(productionMs),
    gapMaxMs: Math.round(gapMaxMs),
    ticks,
    turns,
    fileBytes,
    rssBeforeMiB: Math.round(rssBeforeKiB / 1024),
    peakRssDeltaMiB: Math.round(peakRiseKiB / 1024),
  }),
);
console.error(
  `${path}: ${recordCount.toLocaleString("en-US")} records, fill ${ms(fillMs)}, production ${ms(productionMs)}, ` +
    `longest timer gap ${ms(gapMaxMs)}, peak RSS +${mib(peakRiseKiB)} over ${mib(rssBeforeKiB)}`,
);
