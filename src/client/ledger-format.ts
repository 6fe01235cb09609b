/**
 * Reading ledger chunk files in a browser: the same framing and entry rules as src/ledger
 * (chunk-format.ts, entry.ts, write-set-codec.ts, signature.ts), re-expressed over `Uint8Array`
 * and `DataView` because those files use `Buffer` and `node:zlib`. Error messages are the same
 * words, so the browser verifier and `coterie ledger verify` report a bad entry identically; a
 * test runs both over the same untouched and tampered ledgers.
 *
 *   chunk file: "COTERIE\0" ‖ u32le version (1) ‖ u32le 0, then frames
 *   frame:      u32le n ‖ entry (n bytes) ‖ u32le CRC-32 (ISO-HDLC) of the entry
 *   entry:      header (40) ‖ public ‖ private ‖ claims digest (32) ‖ commit evidence digest (32)
 */
import { CoterieError } from "../util/errors.ts";

export const CHUNK_HEADER_BYTES = 16;
const CHUNK_MAGIC = [0x43, 0x4f, 0x54, 0x45, 0x52, 0x49, 0x45, 0x00];
export const ENTRY_HEADER_BYTES = 40;
const DIGEST_BYTES = 32;
const TRAILER_BYTES = 2 * DIGEST_BYTES;
const ENTRY_BYTES_MIN = ENTRY_HEADER_BYTES + TRAILER_BYTES;
/** Same bound as src/ledger/chunk-format.ts ENTRY_BYTES_MAX. */
export const ENTRY_BYTES_MAX = 64 * 1024 * 1024;
const GCM_NONCE_AND_TAG_BYTES = 12 + 16;
const DELETE_MARKER = 0xffff_ffff;
export const ENTRY_KIND = { transaction: 0, signature: 1 } as const;

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (ISO-HDLC: reflected, polynomial 0xEDB88320, init and final xor 0xFFFFFFFF), as zlib. */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++)
    c = (CRC_TABLE[(c ^ (bytes[i] as number)) & 0xff] as number) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

const view = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);

export function isChunkHeader(b: Uint8Array): boolean {
  if (b.length < CHUNK_HEADER_BYTES || !CHUNK_MAGIC.every((x, i) => b[i] === x)) return false;
  const v = view(b);
  return v.getUint32(8, true) === 1 && v.getUint32(12, true) === 0;
}

export function firstSeqnoOfChunk(name: string): number | null {
  const m = /^ledger_(\d{12})\.chunk$/.exec(name);
  return m ? Number(m[1]) : null;
}

export type FrameScan =
  | { ok: true; entry: Uint8Array; next: number }
  | { ok: false; reason: "truncated" | "bad-length" | "bad-crc"; at: number };

/** The frame at `offset`; never reads past the end, never trusts a length before checking it. */
export function scanFrame(buf: Uint8Array, offset: number): FrameScan {
  if (offset + 4 > buf.length) return { ok: false, reason: "truncated", at: offset };
  const v = view(buf);
  const n = v.getUint32(offset, true);
  if (n < ENTRY_BYTES_MIN || n > ENTRY_BYTES_MAX) return { ok: false, reason: "bad-length", at: offset };
  const end = offset + 8 + n;
  if (end > buf.length) return { ok: false, reason: "truncated", at: offset };
  const entry = buf.subarray(offset + 4, offset + 4 + n);
  if (crc32(entry) !== v.getUint32(offset + 4 + n, true)) return { ok: false, reason: "bad-crc", at: offset };
  return { ok: true, entry, next: end };
}

export type LedgerEntry = {
  kind: number;
  view: number;
  seqno: number;
  bytes: Uint8Array;
  /** header ‖ public ‖ private: what the write set digest covers. */
  writeSetBytes: Uint8Array;
  publicSection: Uint8Array;
  claimsDigest: Uint8Array;
  commitEvidenceDigest: Uint8Array;
};

const malformedEntry = (message: string) =>
  new CoterieError("COTERIE_ERR_LEDGER_MALFORMED", `malformed entry: ${message}`);

/** Mirrors src/ledger/entry.ts decodeEntry, check for check. */
export function decodeEntry(bytes: Uint8Array): LedgerEntry {
  if (bytes.length < ENTRY_BYTES_MIN)
    throw malformedEntry(`${bytes.length} bytes is shorter than the minimum`);
  const v = view(bytes);
  const version = v.getUint8(0);
  if (version !== 1) throw malformedEntry(`unknown format version ${version}`);
  const kind = v.getUint8(1);
  if (kind !== ENTRY_KIND.transaction && kind !== ENTRY_KIND.signature)
    throw malformedEntry(`unknown kind ${kind}`);
  if (v.getUint16(2, true) !== 0 || v.getUint32(28, true) !== 0)
    throw malformedEntry("reserved header bytes are not zero");
  const publicBytes = v.getUint32(4, true);
  const entryView = Number(v.getBigUint64(8, true));
  const seqno = Number(v.getBigUint64(16, true));
  const privateBytes = v.getUint32(24, true);
  if (seqno < 1 || entryView < 1) throw malformedEntry("view and seqno must be at least 1");
  if (ENTRY_HEADER_BYTES + publicBytes + privateBytes + TRAILER_BYTES !== bytes.length) {
    throw malformedEntry("section lengths do not add up to the entry length");
  }
  if (privateBytes !== 0 && privateBytes < GCM_NONCE_AND_TAG_BYTES) {
    throw malformedEntry("private section shorter than nonce and tag");
  }
  const p0 = ENTRY_HEADER_BYTES + publicBytes;
  const p1 = p0 + privateBytes;
  return {
    kind,
    view: entryView,
    seqno,
    bytes,
    writeSetBytes: bytes.subarray(0, p1),
    publicSection: bytes.subarray(ENTRY_HEADER_BYTES, p0),
    claimsDigest: bytes.subarray(p1, p1 + DIGEST_BYTES),
    commitEvidenceDigest: bytes.subarray(p1 + DIGEST_BYTES),
  };
}

export type MapWrites = { name: string; writes: { key: Uint8Array; value: Uint8Array | null }[] };

const malformedWs = (what: string, offset: number) =>
  new CoterieError("COTERIE_ERR_LEDGER_MALFORMED", `malformed write set: ${what} at byte ${offset}`);
const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Mirrors src/ledger/write-set-codec.ts decodeWriteSet (the public section is a write set). */
export function decodeWriteSet(bytes: Uint8Array): MapWrites[] {
  const v = view(bytes);
  const need = (o: number, n: number, what: string) => {
    if (o + n > bytes.length) throw malformedWs(`${what} runs past the end`, o);
  };
  need(0, 4, "map count");
  const mapCount = v.getUint32(0, true);
  let o = 4;
  const maps: MapWrites[] = [];
  for (let i = 0; i < mapCount; i++) {
    need(o, 2, "map name length");
    const nameBytes = v.getUint16(o, true);
    o += 2;
    need(o, nameBytes + 4, "map name");
    let name: string;
    try {
      name = utf8.decode(bytes.subarray(o, o + nameBytes));
    } catch {
      throw malformedWs("map name is not UTF-8", o);
    }
    o += nameBytes;
    const writeCount = v.getUint32(o, true);
    o += 4;
    const writes: MapWrites["writes"] = [];
    for (let j = 0; j < writeCount; j++) {
      need(o, 4, "key length");
      const keyBytes = v.getUint32(o, true);
      o += 4;
      need(o, keyBytes + 4, "key");
      const key = bytes.subarray(o, o + keyBytes);
      o += keyBytes;
      const valueBytes = v.getUint32(o, true);
      o += 4;
      if (valueBytes === DELETE_MARKER) {
        writes.push({ key, value: null });
        continue;
      }
      need(o, valueBytes, "value");
      writes.push({ key, value: bytes.subarray(o, o + valueBytes) });
      o += valueBytes;
    }
    maps.push({ name, writes });
  }
  if (o !== bytes.length) throw malformedWs("trailing bytes", o);
  return maps;
}
