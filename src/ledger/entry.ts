/**
 * The ledger entry: one transaction (or signature) as it is replicated, stored and hashed.
 * docs/ledger-format.md is the normative description; keep the two in step.
 *
 *   header (40 B) ‖ public section (P B) ‖ private section (Q B) ‖ claims digest (32 B) ‖ commit evidence digest (32 B)
 *
 * The private section is AES-256-GCM(nonce ‖ ciphertext ‖ tag) of the private write set, with the
 * header as additional data and nonce = u32le(view) ‖ u64le(seqno): a (view, seqno) pair names at
 * most one entry, so a nonce never repeats under one ledger secret.
 */
import {
  AES_KEY_BYTES,
  aesGcmDecrypt,
  aesGcmEncryptInto,
  GCM_NONCE_BYTES,
  GCM_TAG_BYTES,
} from "../crypto/aead.ts";
import { sha256, sha256Into } from "../crypto/hash.ts";
import { assert } from "../util/assert.ts";
import { CoterieError } from "../util/errors.ts";
import {
  decodeWriteSet,
  encodedWriteSetBytes,
  encodeWriteSet,
  encodeWriteSetInto,
  type WriteSet,
} from "./write-set-codec.ts";

export const ENTRY_FORMAT_VERSION = 1;
export const HEADER_BYTES = 40;
export const DIGEST_BYTES = 32;
export const TRAILER_BYTES = 2 * DIGEST_BYTES;
export const ZERO_DIGEST: Uint8Array = new Uint8Array(DIGEST_BYTES);

export const EntryKind = { transaction: 0, signature: 1 } as const;
export type EntryKind = (typeof EntryKind)[keyof typeof EntryKind];

export type EntryHeader = {
  kind: EntryKind;
  view: number;
  seqno: number;
  publicBytes: number;
  privateBytes: number;
  secretVersion: number;
};

/** A ledger secret: the AES-256 key and the seqno from which it encrypts (its version). */
export type LedgerSecret = { version: number; key: Uint8Array };

export type EntryInput = {
  kind: EntryKind;
  view: number;
  seqno: number;
  publicWrites: WriteSet;
  privateWrites: WriteSet;
  claimsDigest: Uint8Array;
  commitEvidenceDigest: Uint8Array;
};

/** A serialised entry and the values derived from it that the node needs at once. */
export type EncodedEntry = { bytes: Buffer; writeSetDigest: Uint8Array; leaf: Uint8Array };

/** Writes `h` at `b[0..HEADER_BYTES)`; the u64 fields as two u32 (no BigInt per entry). */
function writeHeaderInto(b: Buffer, h: EntryHeader): void {
  assert(Number.isSafeInteger(h.seqno) && h.seqno >= 1, "seqno is a positive integer");
  assert(Number.isSafeInteger(h.view) && h.view >= 1 && h.view < 2 ** 32, "view is in [1, 2^32)");
  assert(Number.isSafeInteger(h.secretVersion) && h.secretVersion >= 0, "secret version is a count");
  b.writeUInt8(ENTRY_FORMAT_VERSION, 0);
  b.writeUInt8(h.kind, 1);
  b.writeUInt16LE(0, 2);
  b.writeUInt32LE(h.publicBytes, 4);
  writeU64(b, h.view, 8);
  writeU64(b, h.seqno, 16);
  b.writeUInt32LE(h.privateBytes, 24);
  b.writeUInt32LE(0, 28);
  writeU64(b, h.secretVersion, 32);
}

/** u64le of a safe integer as two u32le halves. */
function writeU64(b: Buffer, value: number, offset: number): void {
  b.writeUInt32LE(value % 2 ** 32, offset);
  b.writeUInt32LE(Math.floor(value / 2 ** 32), offset + 4);
}

/** The entry's AES-GCM nonce, u32le(view) ‖ u64le(seqno), at `b[offset..]`. */
function writeNonceInto(b: Buffer, offset: number, view: number, seqno: number): void {
  b.writeUInt32LE(view, offset);
  writeU64(b, seqno, offset + 4);
}

/** Whether `nonce` is the nonce of (view, seqno), read in place (a backup checks one per entry). */
function nonceMatches(nonce: Buffer, view: number, seqno: number): boolean {
  return (
    nonce.readUInt32LE(0) === view &&
    nonce.readUInt32LE(4) === seqno % 2 ** 32 &&
    nonce.readUInt32LE(8) === Math.floor(seqno / 2 ** 32)
  );
}

/**
 * The Merkle leaf data of an entry: write set digest ‖ commit evidence digest ‖ claims digest (96 B).
 * The write set digest, SHA-256 of `writeSetBytes`, is hashed straight into the leaf's first 32
 * bytes.
 */
function leafData(
  writeSetBytes: Uint8Array,
  commitEvidenceDigest: Uint8Array,
  claimsDigest: Uint8Array,
): Buffer {
  const leaf = Buffer.allocUnsafe(3 * DIGEST_BYTES);
  sha256Into(writeSetBytes, leaf, 0);
  leaf.set(commitEvidenceDigest, DIGEST_BYTES);
  leaf.set(claimsDigest, 2 * DIGEST_BYTES);
  return leaf;
}

/**
 * Serialises an entry into one buffer: header, public write set, nonce and the sealed private
 * write set are written in place (the header, already written, is the seal's additional data).
 */
export function encodeEntry(input: EntryInput, secret: LedgerSecret | null): EncodedEntry {
  assert(input.claimsDigest.length === DIGEST_BYTES, "claims digest is 32 bytes");
  assert(input.commitEvidenceDigest.length === DIGEST_BYTES, "commit evidence digest is 32 bytes");
  const publicBytes = encodedWriteSetBytes(input.publicWrites);
  const hasPrivate = input.privateWrites.length > 0;
  assert(!hasPrivate || secret !== null, "private writes need a ledger secret");
  const plain = hasPrivate ? encodeWriteSet(input.privateWrites) : null;
  const privateBytes = plain === null ? 0 : GCM_NONCE_BYTES + plain.length + GCM_TAG_BYTES;
  const body = HEADER_BYTES + publicBytes + privateBytes;
  const bytes = Buffer.allocUnsafe(body + TRAILER_BYTES);
  writeHeaderInto(bytes, {
    kind: input.kind,
    view: input.view,
    seqno: input.seqno,
    publicBytes,
    privateBytes,
    secretVersion: plain === null ? 0 : (secret as LedgerSecret).version,
  });
  const p0 = encodeWriteSetInto(bytes, HEADER_BYTES, input.publicWrites);
  assert(p0 === HEADER_BYTES + publicBytes, "the public write set is as long as measured");
  if (plain !== null) {
    const s = secret as LedgerSecret;
    assert(s.key.length === AES_KEY_BYTES, "ledger secret is 32 bytes");
    writeNonceInto(bytes, p0, input.view, input.seqno);
    const nonce = bytes.subarray(p0, p0 + GCM_NONCE_BYTES);
    aesGcmEncryptInto(s.key, nonce, plain, bytes.subarray(0, HEADER_BYTES), bytes, p0 + GCM_NONCE_BYTES);
  }
  bytes.set(input.claimsDigest, body);
  bytes.set(input.commitEvidenceDigest, body + DIGEST_BYTES);
  // The write set digest covers everything before the trailer.
  const leaf = leafData(bytes.subarray(0, body), input.commitEvidenceDigest, input.claimsDigest);
  return { bytes, writeSetDigest: leaf.subarray(0, DIGEST_BYTES), leaf };
}

/** An entry read back: header and sections as views into `bytes` (no copies). */
export type DecodedEntry = {
  header: EntryHeader;
  bytes: Buffer;
  publicSection: Buffer;
  privateSection: Buffer;
  claimsDigest: Buffer;
  commitEvidenceDigest: Buffer;
};

function malformed(message: string): CoterieError {
  return new CoterieError("COTERIE_ERR_LEDGER_MALFORMED", `malformed entry: ${message}`);
}

export function decodeEntry(bytes: Buffer): DecodedEntry {
  if (bytes.length < HEADER_BYTES + TRAILER_BYTES)
    throw malformed(`${bytes.length} bytes is shorter than the minimum`);
  const version = bytes.readUInt8(0);
  if (version !== ENTRY_FORMAT_VERSION) throw malformed(`unknown format version ${version}`);
  const kind = bytes.readUInt8(1);
  if (kind !== EntryKind.transaction && kind !== EntryKind.signature) throw malformed(`unknown kind ${kind}`);
  if (bytes.readUInt16LE(2) !== 0 || bytes.readUInt32LE(28) !== 0)
    throw malformed("reserved header bytes are not zero");
  const header: EntryHeader = {
    kind,
    publicBytes: bytes.readUInt32LE(4),
    view: Number(bytes.readBigUInt64LE(8)),
    seqno: Number(bytes.readBigUInt64LE(16)),
    privateBytes: bytes.readUInt32LE(24),
    secretVersion: Number(bytes.readBigUInt64LE(32)),
  };
  if (header.seqno < 1 || header.view < 1) throw malformed("view and seqno must be at least 1");
  if (HEADER_BYTES + header.publicBytes + header.privateBytes + TRAILER_BYTES !== bytes.length) {
    throw malformed("section lengths do not add up to the entry length");
  }
  if (header.privateBytes !== 0 && header.privateBytes < GCM_NONCE_BYTES + GCM_TAG_BYTES) {
    throw malformed("private section shorter than nonce and tag");
  }
  const p0 = HEADER_BYTES + header.publicBytes;
  const p1 = p0 + header.privateBytes;
  return {
    header,
    bytes,
    publicSection: bytes.subarray(HEADER_BYTES, p0),
    privateSection: bytes.subarray(p0, p1),
    claimsDigest: bytes.subarray(p1, p1 + DIGEST_BYTES),
    commitEvidenceDigest: bytes.subarray(p1 + DIGEST_BYTES),
  };
}

/** Header ‖ public ‖ private: the bytes the write set digest covers. */
function writeSetBytesOf(e: DecodedEntry): Buffer {
  return e.bytes.subarray(0, HEADER_BYTES + e.header.publicBytes + e.header.privateBytes);
}

/** SHA-256 over header ‖ public ‖ private: what the leaf commits to for the write set. */
export function writeSetDigestOf(e: DecodedEntry): Uint8Array {
  return sha256(writeSetBytesOf(e));
}

/** The leaf data of `e`; its write set digest is the leaf's first 32 bytes. */
export function leafOf(e: DecodedEntry): Buffer {
  return leafData(writeSetBytesOf(e), e.commitEvidenceDigest, e.claimsDigest);
}

export function publicWritesOf(e: DecodedEntry): WriteSet {
  return decodeWriteSet(e.publicSection);
}

/** Decrypts the private write set; throws COTERIE_ERR_LEDGER_DECRYPT when the secret does not open it. */
export function privateWritesOf(e: DecodedEntry, secret: LedgerSecret): WriteSet {
  if (e.header.privateBytes === 0) return [];
  const nonce = e.privateSection.subarray(0, GCM_NONCE_BYTES);
  if (!nonceMatches(nonce, e.header.view, e.header.seqno))
    throw malformed("nonce does not match view and seqno");
  const plain = aesGcmDecrypt(
    secret.key,
    nonce,
    e.privateSection.subarray(GCM_NONCE_BYTES),
    e.bytes.subarray(0, HEADER_BYTES),
  );
  if (plain === null) {
    throw new CoterieError(
      "COTERIE_ERR_LEDGER_DECRYPT",
      `entry ${e.header.view}.${e.header.seqno}: private section does not decrypt`,
    );
  }
  return decodeWriteSet(plain);
}
