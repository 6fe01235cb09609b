/**
 * SHA-2 digests and HMAC on node:crypto (node-only; browser code uses WebCrypto in the browser-safe
 * files). The write path hashes a handful of small inputs per transaction, so these use the
 * one-shot `hash()` (no Hash object per call). HMAC stays node's own `createHmac` with a KeyObject
 * cached per key: an HMAC built by hand from padded key blocks measured no faster with Buffer
 * digests, and only 1–2 µs faster with the text digests below, not worth a second HMAC.
 *
 * Digests are taken as latin1 text (one char per byte) and copied to where they go: node 24 hands
 * a digest out as a Buffer in 3–5 times the time it takes to return it as a string (a SHA-256 of
 * 96 bytes: 1.3–2.6 µs against 0.4–0.8 here; docs/performance.md, "Digests as text").
 * `"binary"` is node's other name for latin1, the one its type declarations accept for digests.
 */
import { createHash, createHmac, hash } from "node:crypto";
import { secretKeyObject } from "./aead.ts";

/** Bytes of a SHA-256 digest. */
const SHA256_BYTES = 32;

/** SHA-256 of `data` as latin1 text: 32 chars, each one byte of the digest. */
export function sha256Latin1(data: Uint8Array): string {
  return hash("sha256", data, "binary");
}

/** Writes SHA-256 of `data` at `out[offset..offset + 32]`. */
export function sha256Into(data: Uint8Array, out: Buffer, offset: number): void {
  out.write(hash("sha256", data, "binary"), offset, SHA256_BYTES, "latin1");
}

/** Fresh bytes of a digest taken as latin1 text (small enough for V8 to keep on its own heap). */
function digestBytes(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}

/** SHA-256 of the concatenation of `parts`. */
export function sha256(...parts: Uint8Array[]): Uint8Array {
  return digestBytes(sha256Latin1(parts.length === 1 ? (parts[0] as Uint8Array) : Buffer.concat(parts)));
}

export function sha256Hex(...parts: Uint8Array[]): string {
  return hash("sha256", parts.length === 1 ? (parts[0] as Uint8Array) : Buffer.concat(parts), "hex");
}

export function sha384(...parts: Uint8Array[]): Uint8Array {
  const h = createHash("sha384");
  for (const p of parts) h.update(p);
  return digestBytes(h.digest("binary"));
}

/** HMAC-SHA256 with node's implementation; the key's KeyObject is made once per key (aead.ts). */
export function hmacSha256(key: Uint8Array, data: Uint8Array): Uint8Array {
  return digestBytes(createHmac("sha256", secretKeyObject(key)).update(data).digest("binary"));
}
