/**
 * Commit evidence: `ce:<view>.<seqno>:<64 hex>`, where the hex is HMAC-SHA256 under a key derived
 * from the ledger secret. Its digest is in the ledger entry; the string itself is revealed only in
 * receipts of committed transactions, so nobody who saw an uncommitted entry can produce a receipt
 * for it (CCF's design).
 */
import { hkdfSync } from "node:crypto";
import { hmacSha256, sha256 } from "../crypto/hash.ts";

export function commitEvidenceKey(ledgerSecretKey: Uint8Array): Uint8Array {
  return new Uint8Array(
    hkdfSync("sha256", ledgerSecretKey, new Uint8Array(0), "coterie commit evidence", 32),
  );
}

/** The MAC inside the commit evidence of `view.seqno`: HMAC-SHA256 of `<view>.<seqno>` (latin1). */
export function commitEvidenceMac(key: Uint8Array, view: number, seqno: number): Uint8Array {
  return hmacSha256(key, Buffer.from(`${view}.${seqno}`, "latin1"));
}

/** The commit evidence string of `view.seqno` given its MAC. */
export function commitEvidenceOfMac(view: number, seqno: number, mac: Uint8Array): string {
  return commitEvidenceOfMacHex(
    view,
    seqno,
    Buffer.from(mac.buffer, mac.byteOffset, mac.byteLength).toString("hex"),
  );
}

/** The same from the MAC already in lowercase hex. */
export function commitEvidenceOfMacHex(view: number, seqno: number, macHex: string): string {
  return `ce:${view}.${seqno}:${macHex}`;
}

export function commitEvidence(key: Uint8Array, view: number, seqno: number): string {
  return commitEvidenceOfMac(view, seqno, commitEvidenceMac(key, view, seqno));
}

/** SHA-256 of the evidence string's UTF-8 (it is ASCII). */
export function commitEvidenceDigest(evidence: string): Uint8Array {
  return sha256(Buffer.from(evidence, "utf8"));
}
