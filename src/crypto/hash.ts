/**
 * SHA-2 digests and HMAC on node:crypto (node-only; browser code uses WebCrypto in the browser-safe
 * files). The write path hashes a handful of small inputs per transaction, so these use the
 * one-shot `hash()` (no Hash object per call). HMAC stays node's own `createHmac` with a KeyObject
 * cached per key: an HMAC built by hand from padded key blocks measured no faster.
 */
import { createHash, createHmac, hash } from "node:crypto";
import { secretKeyObject } from "./aead.ts";

/** SHA-256 of the concatenation of `parts`. */
export function sha256(...parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return hash("sha256", parts[0] as Uint8Array, "buffer");
  return hash("sha256", Buffer.concat(parts), "buffer");
}

export function sha256Hex(...parts: Uint8Array[]): string {
  return Buffer.from(sha256(...parts)).toString("hex");
}

export function sha384(...parts: Uint8Array[]): Uint8Array {
  const h = createHash("sha384");
  for (const p of parts) h.update(p);
  return h.digest();
}

/** HMAC-SHA256 with node's implementation; the key's KeyObject is made once per key (aead.ts). */
export function hmacSha256(key: Uint8Array, data: Uint8Array): Uint8Array {
  return createHmac("sha256", secretKeyObject(key)).update(data).digest();
}
