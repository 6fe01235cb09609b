// The one-shot SHA-256 of src/crypto/hash.ts against node's streaming Hash, and HMAC-SHA256 against
// a known answer (RFC 4231).
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { test } from "node:test";
import { hmacSha256, sha256 } from "../../../src/crypto/hash.ts";

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
