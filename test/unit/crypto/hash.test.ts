// The one-shot SHA-256 and the padded-block HMAC-SHA256 of src/crypto/hash.ts against node's own
// streaming Hash and Hmac, over key lengths on both sides of the 64-byte block and many data lengths.
import assert from "node:assert/strict";
import { createHash, createHmac, randomBytes } from "node:crypto";
import { test } from "node:test";
import { hmacSha256, sha256 } from "../../../src/crypto/hash.ts";

test("hmacSha256 equals node's HMAC for keys of 0..130 bytes and data of 0..200 bytes (RFC 2104)", () => {
  for (let keyBytes = 0; keyBytes <= 130; keyBytes += 3) {
    const key = new Uint8Array(randomBytes(keyBytes));
    for (const dataBytes of [0, 1, 9, 55, 56, 63, 64, 65, 119, 200]) {
      const data = new Uint8Array(randomBytes(dataBytes));
      const expected = createHmac("sha256", key).update(data).digest();
      // Twice: the second call uses the pads cached for this key.
      assert.deepEqual(
        Buffer.from(hmacSha256(key, data)),
        expected,
        `key ${keyBytes} B, data ${dataBytes} B`,
      );
      assert.deepEqual(Buffer.from(hmacSha256(key, data)), expected, `again: key ${keyBytes} B`);
    }
  }
});

test("hmacSha256 matches RFC 4231 test case 2 (key 'Jefe')", () => {
  const mac = hmacSha256(Buffer.from("Jefe"), Buffer.from("what do ya want for nothing?"));
  assert.equal(
    Buffer.from(mac).toString("hex"),
    "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
  );
});

test("sha256 of several parts is the digest of their concatenation", () => {
  const parts = [randomBytes(0), randomBytes(1), randomBytes(64), randomBytes(100)].map(
    (b) => new Uint8Array(b),
  );
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  assert.deepEqual(Buffer.from(sha256(...parts)), h.digest());
  assert.deepEqual(
    Buffer.from(sha256(parts[3] as Uint8Array)),
    createHash("sha256")
      .update(parts[3] as Uint8Array)
      .digest(),
  );
  assert.deepEqual(Buffer.from(sha256()), createHash("sha256").digest());
});
