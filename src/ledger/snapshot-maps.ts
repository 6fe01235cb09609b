/**
 * The map section of a snapshot (docs/ledger-format.md, "Snapshots"):
 *   u32 mapCount, then per map (in name order): u16 nameBytes ‖ name (UTF-8) ‖ u32 entryCount,
 *   then per entry (in key order): u32 keyBytes ‖ key ‖ u32 valueBytes ‖ value ‖ u64 version.
 * The decoder refuses anything that runs past the end or leaves trailing bytes.
 */
import type { SnapshotMap, VersionedEntry } from "../kv/index.ts";
import { CoterieError } from "../util/errors.ts";

type Maps = Array<{ name: string; entries: VersionedEntry[] }>;

export function encodeSnapshotMaps(maps: Maps): Buffer {
  const parts: Buffer[] = [];
  const u32 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(n);
    parts.push(b);
  };
  u32(maps.length);
  for (const m of maps) {
    const name = Buffer.from(m.name, "utf8");
    const len = Buffer.alloc(2);
    len.writeUInt16LE(name.length);
    parts.push(len, name);
    u32(m.entries.length);
    for (const e of m.entries) {
      u32(e.key.length);
      parts.push(Buffer.from(e.key));
      u32(e.value.length);
      parts.push(Buffer.from(e.value));
      const v = Buffer.alloc(8);
      v.writeBigUInt64LE(BigInt(e.version));
      parts.push(v);
    }
  }
  return Buffer.concat(parts);
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
