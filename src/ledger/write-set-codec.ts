/**
 * Binary encoding of a write set (docs/ledger-format.md, "Write set"). Little-endian lengths:
 *   u32 mapCount, then per map: u16 nameBytes, name (UTF-8), u32 writeCount,
 *   then per write: u32 keyBytes, key, u32 valueBytes (0xFFFFFFFF = delete), value.
 * The encoding is canonical for a canonical write set (maps sorted by name, writes by key), which
 * the store guarantees, so equal write sets give equal digests.
 */
import { CoterieError } from "../util/errors.ts";

export type Write = { key: Uint8Array; value: Uint8Array | null };
export type MapWrites = { name: string; writes: Write[] };
export type WriteSet = MapWrites[];

export const DELETE_MARKER = 0xffff_ffff;
const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder("utf-8", { fatal: true });

/**
 * UTF-8 of map names, made once per name: every entry names its maps, and a handful of names
 * cover almost every entry. Bounded: an app that makes maps without end only refills it.
 */
const nameBytesCache = new Map<string, Uint8Array>();
const NAME_BYTES_CACHED_MAX = 1024;

function nameBytes(name: string): Uint8Array {
  let bytes = nameBytesCache.get(name);
  if (bytes === undefined) {
    if (nameBytesCache.size >= NAME_BYTES_CACHED_MAX) nameBytesCache.clear();
    bytes = textEncoder.encode(name);
    nameBytesCache.set(name, bytes);
  }
  return bytes;
}

export function encodedWriteSetBytes(maps: readonly MapWrites[]): number {
  let n = 4;
  for (const m of maps) {
    n += 2 + nameBytes(m.name).length + 4;
    for (const w of m.writes) n += 8 + w.key.length + (w.value?.length ?? 0);
  }
  return n;
}

export function encodeWriteSet(maps: readonly MapWrites[]): Buffer {
  const out = Buffer.allocUnsafe(encodedWriteSetBytes(maps));
  encodeWriteSetInto(out, 0, maps);
  return out;
}

/** Writes the encoding at `out[offset..]`, which must have `encodedWriteSetBytes(maps)` bytes; returns the offset after it. */
export function encodeWriteSetInto(out: Buffer, offset: number, maps: readonly MapWrites[]): number {
  let o = out.writeUInt32LE(maps.length, offset);
  for (const m of maps) {
    const name = nameBytes(m.name);
    o = out.writeUInt16LE(name.length, o);
    out.set(name, o);
    o += name.length;
    o = out.writeUInt32LE(m.writes.length, o);
    for (const w of m.writes) {
      o = out.writeUInt32LE(w.key.length, o);
      out.set(w.key, o);
      o += w.key.length;
      if (w.value === null) {
        o = out.writeUInt32LE(DELETE_MARKER, o);
      } else {
        o = out.writeUInt32LE(w.value.length, o);
        out.set(w.value, o);
        o += w.value.length;
      }
    }
  }
  return o;
}

function malformed(what: string, offset: number): CoterieError {
  return new CoterieError("COTERIE_ERR_LEDGER_MALFORMED", `malformed write set: ${what} at byte ${offset}`);
}

/** Decodes a write set; throws COTERIE_ERR_LEDGER_MALFORMED on any inconsistency (never reads past the end). */
export function decodeWriteSet(bytes: Uint8Array): WriteSet {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const need = (o: number, n: number, what: string) => {
    if (o + n > buf.length) throw malformed(`${what} runs past the end`, o);
  };
  need(0, 4, "map count");
  const mapCount = buf.readUInt32LE(0);
  let o = 4;
  const maps: WriteSet = [];
  for (let i = 0; i < mapCount; i++) {
    need(o, 2, "map name length");
    const nameBytes = buf.readUInt16LE(o);
    o += 2;
    need(o, nameBytes + 4, "map name");
    let name: string;
    try {
      name = textDecoder.decode(buf.subarray(o, o + nameBytes));
    } catch {
      throw malformed("map name is not UTF-8", o);
    }
    o += nameBytes;
    const writeCount = buf.readUInt32LE(o);
    o += 4;
    const writes: Write[] = [];
    for (let j = 0; j < writeCount; j++) {
      need(o, 4, "key length");
      const keyBytes = buf.readUInt32LE(o);
      o += 4;
      need(o, keyBytes + 4, "key");
      const key = buf.subarray(o, o + keyBytes);
      o += keyBytes;
      const valueBytes = buf.readUInt32LE(o);
      o += 4;
      if (valueBytes === DELETE_MARKER) {
        writes.push({ key, value: null });
        continue;
      }
      need(o, valueBytes, "value");
      writes.push({ key, value: buf.subarray(o, o + valueBytes) });
      o += valueBytes;
    }
    maps.push({ name, writes });
  }
  if (o !== buf.length) throw malformed("trailing bytes", o);
  return maps;
}
