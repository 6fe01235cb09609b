/**
 * SHA-2 digests and HMAC on node:crypto (node-only; browser code uses WebCrypto in the browser-safe
 * files). The write path hashes a handful of small inputs per transaction, so these use the
 * one-shot `hash()` (no Hash object per call) and HMAC keys keep their padded blocks.
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

/** SHA-256's block: HMAC pads keys of up to this many bytes (RFC 2104 §2). */
const SHA256_BLOCK_BYTES = 64;
const SHA256_BYTES = 32;

/** K ⊕ ipad and K ⊕ opad of one key, made once (like the KeyObjects of aead.ts). */
const hmacPads = new WeakMap<Uint8Array, { inner: Buffer; outer: Buffer }>();

function padsOf(key: Uint8Array): { inner: Buffer; outer: Buffer } {
  let pads = hmacPads.get(key);
  if (pads === undefined) {
    const inner = Buffer.alloc(SHA256_BLOCK_BYTES, 0x36);
    const outer = Buffer.alloc(SHA256_BLOCK_BYTES, 0x5c);
    for (let i = 0; i < key.length; i++) {
      inner[i] = (inner[i] as number) ^ (key[i] as number);
      outer[i] = (outer[i] as number) ^ (key[i] as number);
    }
    pads = { inner, outer };
    hmacPads.set(key, pads);
  }
  return pads;
}

/**
 * HMAC-SHA256 (RFC 2104): H((K ⊕ opad) ‖ H((K ⊕ ipad) ‖ data)), with two one-shot hashes for keys
 * up to one block (all of ours); longer keys take node's HMAC. A unit test compares the two.
 */
export function hmacSha256(key: Uint8Array, data: Uint8Array): Uint8Array {
  if (key.length > SHA256_BLOCK_BYTES)
    return createHmac("sha256", secretKeyObject(key)).update(data).digest();
  const pads = padsOf(key);
  const inner = Buffer.allocUnsafe(SHA256_BLOCK_BYTES + data.length);
  inner.set(pads.inner, 0);
  inner.set(data, SHA256_BLOCK_BYTES);
  const outer = Buffer.allocUnsafe(SHA256_BLOCK_BYTES + SHA256_BYTES);
  outer.set(pads.outer, 0);
  outer.set(hash("sha256", inner, "buffer"), SHA256_BLOCK_BYTES);
  return hash("sha256", outer, "buffer");
}
