/**
 * AES-256-GCM with explicit nonce and additional data (node-only). Callers own nonce uniqueness:
 * the ledger derives nonces from (view, seqno), which never repeat under one ledger secret.
 */
import { createCipheriv, createDecipheriv, createSecretKey, type KeyObject } from "node:crypto";
import { assert } from "../util/assert.ts";

export const AES_KEY_BYTES = 32;
export const GCM_NONCE_BYTES = 12;
export const GCM_TAG_BYTES = 16;

/**
 * KeyObjects for raw keys, made once per key: building one per call dominated the write path
 * (key validation inside createCipheriv), so long-lived keys are wrapped once and reused.
 */
const keyObjects = new WeakMap<Uint8Array, KeyObject>();

export function secretKeyObject(key: Uint8Array): KeyObject {
  let k = keyObjects.get(key);
  if (k === undefined) {
    k = createSecretKey(key);
    keyObjects.set(key, k);
  }
  return k;
}

/** Returns ciphertext ‖ tag. */
export function aesGcmEncrypt(
  key: Uint8Array,
  nonce: Uint8Array,
  plaintext: Uint8Array,
  aad: Uint8Array,
): Buffer {
  const out = Buffer.allocUnsafe(plaintext.length + GCM_TAG_BYTES);
  aesGcmEncryptInto(key, nonce, plaintext, aad, out, 0);
  return out;
}

/**
 * Writes ciphertext ‖ tag (`plaintext.length + GCM_TAG_BYTES` bytes) at `out[offset..]`, so a
 * caller sealing part of a larger buffer (a ledger entry) copies nothing twice. `aad` may be a
 * view of `out` before `offset`.
 */
export function aesGcmEncryptInto(
  key: Uint8Array,
  nonce: Uint8Array,
  plaintext: Uint8Array,
  aad: Uint8Array,
  out: Uint8Array,
  offset: number,
): void {
  assert(key.length === AES_KEY_BYTES, "AES-256-GCM key must be 32 bytes");
  assert(nonce.length === GCM_NONCE_BYTES, "GCM nonce must be 12 bytes");
  assert(offset + plaintext.length + GCM_TAG_BYTES <= out.length, "AES-GCM output fits");
  const cipher = createCipheriv("aes-256-gcm", secretKeyObject(key), nonce);
  cipher.setAAD(aad);
  const head = cipher.update(plaintext);
  const tail = cipher.final(); // empty for GCM, a stream mode; kept for the API's contract
  assert(head.length + tail.length === plaintext.length, "GCM ciphertext is as long as the plaintext");
  out.set(head, offset);
  out.set(tail, offset + head.length);
  out.set(cipher.getAuthTag(), offset + plaintext.length);
}

/** Decrypts ciphertext ‖ tag; returns null when authentication fails (wrong key, tampered data). */
export function aesGcmDecrypt(
  key: Uint8Array,
  nonce: Uint8Array,
  sealed: Uint8Array,
  aad: Uint8Array,
): Buffer | null {
  if (key.length !== AES_KEY_BYTES || nonce.length !== GCM_NONCE_BYTES || sealed.length < GCM_TAG_BYTES)
    return null;
  const decipher = createDecipheriv("aes-256-gcm", secretKeyObject(key), nonce);
  decipher.setAAD(aad);
  decipher.setAuthTag(sealed.subarray(sealed.length - GCM_TAG_BYTES));
  try {
    const head = decipher.update(sealed.subarray(0, sealed.length - GCM_TAG_BYTES));
    const tail = decipher.final(); // checks the tag; empty for GCM
    return tail.length === 0 ? head : Buffer.concat([head, tail]);
  } catch {
    return null;
  }
}
