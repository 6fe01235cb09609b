/**
 * The map section of a snapshot (docs/ledger-format.md, "Snapshots"):
 *   u32 mapCount, then per map (in name order): u16 nameBytes ‖ name (UTF-8) ‖ u32 entryCount,
 *   then per entry (in key order): u32 keyBytes ‖ key ‖ u32 valueBytes ‖ value ‖ u64 version.
 * The decoder refuses anything that runs past the end or leaves trailing bytes.
 */
import type { SnapshotMap, VersionedEntry } from "../kv/index.ts";
import { assert } from "../util/assert.ts";
import { CoterieError } from "../util/errors.ts";

type Maps = Array<{ name: string; entries: VersionedEntry[] }>;

/**
 * One pass to size the section, one to write it into a single buffer: a snapshot of a million
 * records is tens of megabytes, and building it from per-field buffers cost seconds on the primary's
 * event loop (`encodeSnapshot` of 1,000,000 small records: 12.0 s before, 3.7 s after).
 */
export function encodeSnapshotMaps(maps: Maps): Buffer {
  const names = maps.map((m) => Buffer.from(m.name, "utf8"));
  let size = 4;
  maps.forEach((m, i) => {
    size += 2 + (names[i] as Buffer).length + 4;
    for (const e of m.entries) size += 4 + e.key.length + 4 + e.value.length + 8;
  });
  const out = Buffer.allocUnsafe(size);
  let at = out.writeUInt32LE(maps.length, 0);
  maps.forEach((m, i) => {
    const name = names[i] as Buffer;
    at = out.writeUInt16LE(name.length, at);
    at += name.copy(out, at);
    at = out.writeUInt32LE(m.entries.length, at);
    for (const e of m.entries) {
      at = out.writeUInt32LE(e.key.length, at);
      out.set(e.key, at);
      at += e.key.length;
      at = out.writeUInt32LE(e.value.length, at);
      out.set(e.value, at);
      at += e.value.length;
      // u64 little-endian; versions are seqnos, below 2^53.
      at = out.writeUInt32LE(e.version % 0x1_0000_0000, at);
      at = out.writeUInt32LE(Math.floor(e.version / 0x1_0000_0000), at);
    }
  });
  assert(at === size, "the snapshot map section fills exactly the size computed for it");
  return out;
}

export function decodeSnapshotMaps(bytes: Buffer): SnapshotMap[] {
  let at = 0;
  const need = (n: number) => {
    if (at + n > bytes.length)
      throw new CoterieError("COTERIE_ERR_SNAPSHOT_MALFORMED", "snapshot: map section runs past its end");
  };
  const u32 = () => {
    need(4);
    at += 4;
    return bytes.readUInt32LE(at - 4);
  };
  const take = (n: number) => {
    need(n);
    at += n;
    return new Uint8Array(bytes.subarray(at - n, at));
  };
  const maps: SnapshotMap[] = [];
  const mapCount = u32();
  for (let i = 0; i < mapCount; i++) {
    need(2);
    at += 2;
    const name = Buffer.from(take(bytes.readUInt16LE(at - 2))).toString("utf8");
    const count = u32();
    // Each entry takes at least 16 bytes: bounds the allocation by the input size.
    if (count > (bytes.length - at) / 16)
      throw new CoterieError("COTERIE_ERR_SNAPSHOT_MALFORMED", "snapshot: impossible entry count");
    const entries: VersionedEntry[] = [];
    for (let j = 0; j < count; j++) {
      const key = take(u32());
      const value = take(u32());
      need(8);
      at += 8;
      entries.push({ key, value, version: Number(bytes.readBigUInt64LE(at - 8)) });
    }
    maps.push({ name, entries });
  }
  if (at !== bytes.length)
    throw new CoterieError("COTERIE_ERR_SNAPSHOT_MALFORMED", "snapshot: trailing bytes");
  return maps;
}
