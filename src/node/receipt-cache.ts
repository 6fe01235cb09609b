/**
 * What a receipt needs from recent transactions and signatures, kept in memory when the primary
 * appends them, so answering a commit wait does not read two entries back from disk, decrypt
 * nothing, re-hash the write set, recompute the commit evidence and recompute the signed root.
 *
 * Transactions sit in a ring of `capacity` slots (seqno mod capacity) of flat typed arrays: no
 * object per transaction, so a busy primary promotes nothing to V8's old generation for it. A slot
 * holds the view, the write set digest, the claims digest and the commit evidence MAC of one
 * seqno. Signatures this node appended are kept by seqno, the latest `signaturesMax` of them.
 *
 * Anything not here (older, appended by another primary, or after a restart) is a miss and the
 * caller reads the ledger. A rollback discards every slot above its target, so a seqno reused by a
 * later entry is never answered with the discarded one.
 */

import type { SignatureRecord } from "../ledger/signature.ts";
import { assert } from "../util/assert.ts";

const DIGEST_BYTES = 32;
const SLOT_BYTES = 3 * DIGEST_BYTES;

/** Transactions kept by default (`ledger.receiptCacheTxs`): 96 bytes each, ~1.5 MiB. */
export const RECEIPT_CACHE_TXS_DEFAULT = 16_384;

/** Signature records kept: under load one signature covers many transactions; idle, one each. */
export const RECEIPT_CACHE_SIGNATURES_MAX = 64;

/** A held transaction's leaf parts as a receipt carries them: lowercase hex. */
export type CachedLeaf = {
  writeSetDigest: string;
  claimsDigest: string;
  /** The HMAC of `ce:<view>.<seqno>` (commit-evidence.ts). */
  commitEvidenceMac: string;
};

export class ReceiptCache {
  readonly capacity: number;
  private readonly seqnos: Float64Array;
  private readonly views: Float64Array;
  private readonly bytes: Uint8Array;
  private readonly signatures = new Map<number, SignatureRecord>();

  /** `capacity` 0 keeps nothing (every receipt reads the ledger). */
  constructor(capacity: number) {
    assert(Number.isSafeInteger(capacity) && capacity >= 0, "receipt cache capacity is a count");
    this.capacity = capacity;
    this.seqnos = new Float64Array(capacity);
    this.views = new Float64Array(capacity);
    this.bytes = new Uint8Array(capacity * SLOT_BYTES);
  }

  recordTransaction(
    seqno: number,
    view: number,
    writeSetDigest: Uint8Array,
    claimsDigest: Uint8Array,
    commitEvidenceMac: Uint8Array,
  ): void {
    if (this.capacity === 0) return;
    assert(
      writeSetDigest.length === DIGEST_BYTES &&
        claimsDigest.length === DIGEST_BYTES &&
        commitEvidenceMac.length === DIGEST_BYTES,
      "receipt cache digests are 32 bytes",
    );
    const slot = seqno % this.capacity;
    this.seqnos[slot] = seqno;
    this.views[slot] = view;
    const at = slot * SLOT_BYTES;
    this.bytes.set(writeSetDigest, at);
    this.bytes.set(claimsDigest, at + DIGEST_BYTES);
    this.bytes.set(commitEvidenceMac, at + 2 * DIGEST_BYTES);
  }

  /** The leaf parts of transaction `view.seqno`, in hex (one conversion of the slot); null when not held. */
  transaction(seqno: number, view: number): CachedLeaf | null {
    if (this.capacity === 0) return null;
    const slot = seqno % this.capacity;
    if (this.seqnos[slot] !== seqno || this.views[slot] !== view) return null;
    const hex = Buffer.from(
      this.bytes.buffer,
      this.bytes.byteOffset + slot * SLOT_BYTES,
      SLOT_BYTES,
    ).toString("hex");
    return {
      writeSetDigest: hex.slice(0, 2 * DIGEST_BYTES),
      claimsDigest: hex.slice(2 * DIGEST_BYTES, 4 * DIGEST_BYTES),
      commitEvidenceMac: hex.slice(4 * DIGEST_BYTES),
    };
  }

  recordSignature(record: SignatureRecord): void {
    this.signatures.set(record.seqno, record);
    if (this.signatures.size > RECEIPT_CACHE_SIGNATURES_MAX) {
      // Seqnos are appended in increasing order, so the first key is the oldest.
      const oldest = this.signatures.keys().next().value as number;
      this.signatures.delete(oldest);
    }
  }

  signature(seqno: number): SignatureRecord | null {
    return this.signatures.get(seqno) ?? null;
  }

  /** Forgets every transaction and signature above `seqno` (a rollback discarded them). */
  discardAbove(seqno: number): void {
    for (const s of this.signatures.keys()) if (s > seqno) this.signatures.delete(s);
    for (let slot = 0; slot < this.capacity; slot++) {
      if ((this.seqnos[slot] as number) > seqno) this.seqnos[slot] = 0;
    }
  }
}
