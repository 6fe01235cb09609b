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
  const nonce = Buffer.from(hmacSha256(key, new TextEncoder().encode(`${view}.${seqno}`))).toString("hex");
  return `ce:${view}.${seqno}:${nonce}`;
}

export function commitEvidenceDigest(evidence: string): Uint8Array {
  return sha256(new TextEncoder().encode(evidence));
}
