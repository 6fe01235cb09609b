/**
 * Chunk file framing (docs/ledger-format.md, "Chunk files"):
 *   file header: "COTERIE\0" (8 B) ‖ u32le format version (1) ‖ u32le reserved (0)
 *   then frames: u32le entryBytes ‖ entry ‖ u32le CRC-32 (ISO-HDLC, as zlib) of the entry
 * The CRC is not a security measure (the Merkle tree and signatures are): it lets recovery tell a
 * torn tail from a complete frame, and lets `ledger verify` name the exact entry a flipped byte hit.
 */
import { crc32 } from "node:zlib";
import { HEADER_BYTES, TRAILER_BYTES } from "./entry.ts";

export const CHUNK_MAGIC = Buffer.from("COTERIE\0", "latin1");
export const CHUNK_FORMAT_VERSION = 1;
export const CHUNK_HEADER_BYTES = 16;
export const FRAME_OVERHEAD_BYTES = 8;
export const ENTRY_BYTES_MIN = HEADER_BYTES + TRAILER_BYTES;
/** The largest entry a frame may carry; bounds what recovery will try to read. */
export const ENTRY_BYTES_MAX = 64 * 1024 * 1024;

export function chunkHeader(): Buffer {
  const h = Buffer.alloc(CHUNK_HEADER_BYTES);
  CHUNK_MAGIC.copy(h, 0);
  h.writeUInt32LE(CHUNK_FORMAT_VERSION, 8);
  return h;
}

export function isChunkHeader(b: Buffer): boolean {
  return (
    b.length >= CHUNK_HEADER_BYTES &&
    b.subarray(0, 8).equals(CHUNK_MAGIC) &&
    b.readUInt32LE(8) === CHUNK_FORMAT_VERSION &&
    b.readUInt32LE(12) === 0
  );
}

/**
 * The frames of `entries`, one after the other, in one buffer: u32 length ‖ entry ‖ u32 CRC-32 each
 * (little-endian). One buffer per write: the entries are copied once, and nothing is made per entry.
 */
export function frameEntries(entries: readonly Uint8Array[]): Buffer {
  let bytes = 0;
  for (const e of entries) bytes += e.length + FRAME_OVERHEAD_BYTES;
  const out = Buffer.allocUnsafe(bytes);
  let at = 0;
  for (const e of entries) {
    out.writeUInt32LE(e.length, at);
    out.set(e, at + 4);
    at += 4 + e.length;
    out.writeUInt32LE(crc32(e), at);
    at += 4;
  }
  return out;
}

export type FrameScan =
  | { ok: true; entry: Buffer; next: number }
  | { ok: false; reason: "truncated" | "bad-length" | "bad-crc"; at: number };

/** Reads the frame at `offset` of `buf`. Never reads past the end; never trusts a length before checking it. */
export function scanFrame(buf: Buffer, offset: number): FrameScan {
  if (offset + 4 > buf.length) return { ok: false, reason: "truncated", at: offset };
  const n = buf.readUInt32LE(offset);
  if (n < ENTRY_BYTES_MIN || n > ENTRY_BYTES_MAX) return { ok: false, reason: "bad-length", at: offset };
  const end = offset + 4 + n + 4;
  if (end > buf.length) return { ok: false, reason: "truncated", at: offset };
  const entry = buf.subarray(offset + 4, offset + 4 + n);
  if (crc32(entry) !== buf.readUInt32LE(offset + 4 + n)) return { ok: false, reason: "bad-crc", at: offset };
  return { ok: true, entry, next: end };
}

export function chunkFileName(firstSeqno: number): string {
  return `ledger_${String(firstSeqno).padStart(12, "0")}.chunk`;
}

export function firstSeqnoOfChunk(name: string): number | null {
  const m = /^ledger_(\d{12})\.chunk$/.exec(name);
  return m ? Number(m[1]) : null;
}

/** The seqno in an entry's header (bytes 16..24), read without decoding the rest. */
export function seqnoOfEntry(entry: Buffer): number {
  return Number(entry.readBigUInt64LE(16));
}
