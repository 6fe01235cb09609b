// AES-256-GCM as the ledger and snapshots seal with it: output layout (ciphertext ‖ tag), agreement
// with WebCrypto's AES-GCM, and refusal of anything tampered. No published vectors are in
// ../shared/vectors yet (NIST CAVP's gcmEncryptExtIV256 would be the ones to add).
import assert from "node:assert/strict";
import { randomBytes, webcrypto } from "node:crypto";
import { test } from "node:test";
import { aesGcmDecrypt, aesGcmEncrypt, GCM_TAG_BYTES } from "../../../src/crypto/aead.ts";

test("sealed bytes are what WebCrypto's AES-GCM makes, and open again", async () => {
  for (const size of [0, 1, 15, 16, 17, 120, 4096]) {
    const key = randomBytes(32);
    const nonce = randomBytes(12);
    const aad = randomBytes(40);
    const plain = randomBytes(size);
    const sealed = aesGcmEncrypt(key, nonce, plain, aad);
    assert.equal(sealed.length, size + GCM_TAG_BYTES, `size ${size}`);
    const k = await webcrypto.subtle.importKey("raw", key, "AES-GCM", false, ["encrypt"]);
    const expected = await webcrypto.subtle.encrypt(
      { name: "AES-GCM", iv: nonce, additionalData: aad },
      k,
      plain,
    );
    assert.deepEqual(sealed, Buffer.from(expected), `size ${size}`);
    assert.deepEqual(aesGcmDecrypt(key, nonce, sealed, aad), plain, `size ${size}`);
  }
});

test("a flipped bit anywhere, another key, nonce or additional data, or a short input opens to null", () => {
  const key = randomBytes(32);
  const nonce = randomBytes(12);
  const aad = randomBytes(40);
  const sealed = aesGcmEncrypt(key, nonce, Buffer.from("confidential record"), aad);
  for (let i = 0; i < sealed.length; i++) {
    const copy = Buffer.from(sealed);
    copy[i] = (copy[i] as number) ^ 0x80;
    assert.equal(aesGcmDecrypt(key, nonce, copy, aad), null, `byte ${i}`);
  }
  assert.equal(aesGcmDecrypt(randomBytes(32), nonce, sealed, aad), null);
  assert.equal(aesGcmDecrypt(key, randomBytes(12), sealed, aad), null);
  assert.equal(aesGcmDecrypt(key, nonce, sealed, randomBytes(40)), null);
  assert.equal(aesGcmDecrypt(key, nonce, sealed.subarray(0, GCM_TAG_BYTES - 1), aad), null);
});
