/** SHA-2 digests on node:crypto (node-only; browser code uses WebCrypto in the browser-safe files). */
import { createHash, createHmac } from "node:crypto";
import { secretKeyObject } from "./aead.ts";

/** SHA-256 of the concatenation of `parts`. */
export function sha256(...parts: Uint8Array[]): Uint8Array {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return h.digest();
}

export function sha256Hex(...parts: Uint8Array[]): string {
  return Buffer.from(sha256(...parts)).toString("hex");
}

export function sha384(...parts: Uint8Array[]): Uint8Array {
  const h = createHash("sha384");
  for (const p of parts) h.update(p);
  return h.digest();
}

export function hmacSha256(key: Uint8Array, data: Uint8Array): Uint8Array {
  return createHmac("sha256", secretKeyObject(key)).update(data).digest();
}
