// The one-shot SHA-256 of src/crypto/hash.ts against node's streaming Hash, and HMAC-SHA256 against
// a known answer (RFC 4231) and node's own HMAC with Buffer output. The digests travel as latin1
// text inside hash.ts, so these cover digests holding every byte value.
import assert from "node:assert/strict";
import { createHash, createHmac, randomBytes } from "node:crypto";
import { test } from "node:test";
import { hmacSha256, sha256, sha256Hex, sha256Into, sha256Latin1 } from "../../../src/crypto/hash.ts";

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

test("every form of a digest equals node's Buffer digest, over digests holding every byte value", () => {
  const seen = new Set<number>();
  const out = Buffer.alloc(64 + 32);
  for (let i = 0; i < 2000; i++) {
    const data = randomBytes(i % 300);
    const expected = createHash("sha256").update(data).digest();
    for (const b of expected) seen.add(b);
    assert.deepEqual(Buffer.from(sha256(data)), expected);
    assert.equal(sha256Hex(data), expected.toString("hex"));
    assert.deepEqual(Buffer.from(sha256Latin1(data), "latin1"), expected);
    const at = i % 64;
    out.fill(0xaa);
    sha256Into(data, out, at);
    assert.deepEqual(out.subarray(at, at + 32), expected);
    assert.ok(out.subarray(0, at).every((b) => b === 0xaa) && out.subarray(at + 32).every((b) => b === 0xaa));
    const key = randomBytes(32);
    assert.deepEqual(Buffer.from(hmacSha256(key, data)), createHmac("sha256", key).update(data).digest());
  }
  assert.equal(seen.size, 256, "the digests covered every byte value");
});

test("sha256 returns bytes of their own, not a view into a shared pool", () => {
  // Apps get sha256 through their crypto context; one that reads `.buffer` must find 32 bytes.
  const d = sha256(new Uint8Array([1, 2, 3]));
  assert.equal(d.byteOffset, 0);
  assert.equal(d.buffer.byteLength, 32);
  const m = hmacSha256(new Uint8Array(32), new Uint8Array(1));
  assert.equal(m.byteOffset, 0);
  assert.equal(m.buffer.byteLength, 32);
});
