/**
 * Reading the public part of a snapshot file in a browser: the same rules as src/ledger/snapshot.ts
 * (`snapshotHead`, `decodeSnapshot(bytes, "public-only")`) and snapshot-maps.ts, over `Uint8Array`
 * and `DataView`, with the same error words, so the browser verifier and `coterie ledger verify`
 * refuse a damaged snapshot identically. docs/ledger-format.md ("Snapshots") is normative:
 *
 *   header (48) ‖ frontier (F × 32) ‖ view starts (V × 16) ‖ public section (P) ‖ private section (Q)
 *   header:     "COTSNAP\0" ‖ u32le version (1) ‖ u32le 0 ‖ u64le seqno ‖ u64le secret version
 *               ‖ u32le F ‖ u32le V ‖ u32le P ‖ u32le Q
 *   view start: u64le view ‖ u64le first seqno
 *   section:    u32 mapCount, per map u16 nameBytes ‖ name ‖ u32 entryCount,
 *               per entry u32 keyBytes ‖ key ‖ u32 valueBytes ‖ value ‖ u64 version
 *
 * The private section is left unread (it needs the ledger secret); only its length is checked.
 */
import { CoterieError } from "../util/errors.ts";

const SNAPSHOT_MAGIC = [0x43, 0x4f, 0x54, 0x53, 0x4e, 0x41, 0x50, 0x00];
const SNAPSHOT_HEADER_BYTES = 48;
/** Same bound as src/ledger/snapshot.ts FRONTIER_HASHES_MAX. */
const FRONTIER_HASHES_MAX = 64;

export type SnapshotPublic = {
  seqno: number;
  /** The RFC 9162 frontier at `seqno` leaves: one subtree root per set bit, largest first. */
  frontier: Uint8Array[];
  /** [view, first seqno] pairs, oldest first. */
  viewStarts: Array<[number, number]>;
  maps: Array<{ name: string; entries: { key: Uint8Array; value: Uint8Array; version: number }[] }>;
};

const malformed = (why: string) => new CoterieError("COTERIE_ERR_SNAPSHOT_MALFORMED", `snapshot: ${why}`);

/** The header, frontier, view history and public maps of a snapshot, checked as the node checks them. */
export function decodeSnapshotPublic(bytes: Uint8Array): SnapshotPublic {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < SNAPSHOT_HEADER_BYTES || !SNAPSHOT_MAGIC.every((x, i) => bytes[i] === x))
    throw malformed("not a snapshot file");
  if (v.getUint32(8, true) !== 1 || v.getUint32(12, true) !== 0) throw malformed("unknown format version");
  const seqno = Number(v.getBigUint64(16, true));
  const f = v.getUint32(32, true);
  const viewCount = v.getUint32(36, true);
  if (f > FRONTIER_HASHES_MAX || SNAPSHOT_HEADER_BYTES + 32 * f + 16 * viewCount > bytes.length)
    throw malformed("frontier or view history beyond the file");
  const frontier = Array.from({ length: f }, (_, i) =>
    bytes.subarray(SNAPSHOT_HEADER_BYTES + 32 * i, SNAPSHOT_HEADER_BYTES + 32 * (i + 1)),
  );
  const viewStarts = Array.from({ length: viewCount }, (_, i): [number, number] => {
    const at = SNAPSHOT_HEADER_BYTES + 32 * f + 16 * i;
    return [Number(v.getBigUint64(at, true)), Number(v.getBigUint64(at + 8, true))];
  });
  const p = v.getUint32(40, true);
  const q = v.getUint32(44, true);
  const p0 = SNAPSHOT_HEADER_BYTES + 32 * f + 16 * viewCount;
  if (p0 + p + q !== bytes.length) throw malformed("section lengths do not add up to the file length");
  return { seqno, frontier, viewStarts, maps: decodeMaps(bytes.subarray(p0, p0 + p)) };
}

/** Mirrors src/ledger/snapshot-maps.ts decodeSnapshotMaps. */
function decodeMaps(bytes: Uint8Array): SnapshotPublic["maps"] {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  const need = (n: number) => {
    if (at + n > bytes.length) throw malformed("map section runs past its end");
  };
  const u32 = () => {
    need(4);
    at += 4;
    return v.getUint32(at - 4, true);
  };
  const take = (n: number) => {
    need(n);
    at += n;
    return bytes.subarray(at - n, at);
  };
  const maps: SnapshotPublic["maps"] = [];
  const mapCount = u32();
  for (let i = 0; i < mapCount; i++) {
    need(2);
    at += 2;
    const name = new TextDecoder().decode(take(v.getUint16(at - 2, true)));
    const count = u32();
    // Each entry takes at least 16 bytes: bounds the allocation by the input size.
    if (count > (bytes.length - at) / 16) throw malformed("impossible entry count");
    const entries: SnapshotPublic["maps"][number]["entries"] = [];
    for (let j = 0; j < count; j++) {
      const key = take(u32());
      const value = take(u32());
      need(8);
      at += 8;
      entries.push({ key, value, version: Number(v.getBigUint64(at - 8, true)) });
    }
    maps.push({ name, entries });
  }
  if (at !== bytes.length) throw malformed("trailing bytes");
  return maps;
}
