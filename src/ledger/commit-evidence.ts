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

export function commitEvidence(key: Uint8Array, view: number, seqno: number): string {
  const id = `${view}.${seqno}`;
  const mac = hmacSha256(key, Buffer.from(id, "latin1"));
  return `ce:${id}:${Buffer.from(mac.buffer, mac.byteOffset, mac.byteLength).toString("hex")}`;
}

/** SHA-256 of the evidence string's UTF-8 (it is ASCII). */
export function commitEvidenceDigest(evidence: string): Uint8Array {
  return sha256(Buffer.from(evidence, "utf8"));
}
