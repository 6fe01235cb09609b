// P1363 signatures from src/crypto/keys.ts: node:crypto signs in DER and @noble/curves re-encodes
// r ‖ s, so every signature must be exactly the curve's length (short r or s padded), verify under
// an independent implementation (WebCrypto, whose ECDSA is r ‖ s), and `verifyP1363` must answer
// false, never throw, for anything that is not a valid signature.
import assert from "node:assert/strict";
import { webcrypto } from "node:crypto";
import { test } from "node:test";
import { type Curve, generateKeyPair, signP1363, verifyP1363 } from "../../../src/crypto/keys.ts";

const ORDER: Record<Curve, bigint> = {
  "P-256": 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n,
  "P-384":
    0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n,
};
const SIZE: Record<Curve, number> = { "P-256": 32, "P-384": 48 };
const HASH: Record<Curve, string> = { "P-256": "SHA-256", "P-384": "SHA-384" };

const bytesOf = (n: bigint, size: number) => Buffer.from(n.toString(16).padStart(size * 2, "0"), "hex");

for (const [curve, count] of [
  ["P-256", 3000],
  ["P-384", 400],
] as const) {
  test(`${curve}: every signature is r ‖ s of the curve's length and verifies under WebCrypto`, async () => {
    const { privateKey, publicKey } = generateKeyPair(curve);
    const size = SIZE[curve];
    const webKey = publicKey.toCryptoKey({ name: "ECDSA", namedCurve: curve }, false, ["verify"]);
    let leadingZero = 0;
    for (let i = 0; i < count; i++) {
      const message = Buffer.from(`message ${i}`);
      const signature = signP1363(privateKey, message);
      assert.equal(signature.length, 2 * size, `signature ${i}`);
      if (signature[0] === 0 || signature[size] === 0) leadingZero++;
      assert.ok(verifyP1363(publicKey, message, signature), `verifyP1363 ${i}`);
      const ok = await webcrypto.subtle.verify(
        { name: "ECDSA", hash: HASH[curve] },
        webKey,
        signature,
        message,
      );
      assert.ok(ok, `WebCrypto ${i}`);
    }
    // About 2 in 256 signatures have an r or s short enough to need padding: they were covered.
    if (curve === "P-256") assert.ok(leadingZero > 0, "some r or s had a leading zero byte");
  });

  test(`${curve}: verifyP1363 answers false, without throwing, for what is not a valid signature`, async () => {
    const { privateKey, publicKey } = generateKeyPair(curve);
    const other = generateKeyPair(curve);
    const size = SIZE[curve];
    const message = Buffer.from("the signed message");
    const good = signP1363(privateKey, message);
    assert.ok(verifyP1363(publicKey, message, good));
    // A signature WebCrypto made verifies too (same encoding).
    const webKey = privateKey.toCryptoKey({ name: "ECDSA", namedCurve: curve }, false, ["sign"]);
    const web = new Uint8Array(
      await webcrypto.subtle.sign({ name: "ECDSA", hash: HASH[curve] }, webKey, message),
    );
    assert.ok(verifyP1363(publicKey, message, web));

    const flipped = Uint8Array.from(good);
    flipped[5] = (flipped[5] as number) ^ 1;
    const r = good.subarray(0, size);
    const cases: Record<string, Uint8Array> = {
      "another message's": signP1363(privateKey, Buffer.from("another message")),
      "another key's": signP1363(other.privateKey, message),
      "a flipped bit": flipped,
      "one byte short": good.subarray(0, good.length - 1),
      "one byte long": Buffer.concat([good, Buffer.from([0])]),
      empty: new Uint8Array(0),
      "r = 0": Buffer.concat([Buffer.alloc(size), good.subarray(size)]),
      "s = 0": Buffer.concat([r, Buffer.alloc(size)]),
      "s = n": Buffer.concat([r, bytesOf(ORDER[curve], size)]),
      "all ones": Buffer.alloc(2 * size, 0xff),
    };
    for (const [name, signature] of Object.entries(cases))
      assert.equal(verifyP1363(publicKey, message, signature), false, name);
  });
}
