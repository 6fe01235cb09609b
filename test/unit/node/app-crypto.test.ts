// The handler context's crypto helpers: verifySignature takes ECDSA signatures in P1363 form (r ‖ s)
// over SHA-256 on any curve node:crypto knows, and RSA PKCS#1 v1.5 over SHA-256, and answers false
// for anything that does not verify or cannot be read, never an exception.
import assert from "node:assert/strict";
import { generateKeyPairSync, type KeyObject, sign } from "node:crypto";
import { test } from "node:test";
import { appCrypto } from "../../../src/node/app-runner.ts";

const data = Buffer.from("a record a handler was asked to check");
const pemOf = (key: KeyObject) => key.export({ type: "spki", format: "pem" }) as string;

test("ECDSA P1363 over SHA-256 verifies on P-256, P-384 and secp256k1; tampering does not", () => {
  for (const namedCurve of ["P-256", "P-384", "secp256k1"]) {
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve });
    const signature = sign("sha256", data, { key: privateKey, dsaEncoding: "ieee-p1363" });
    const pem = pemOf(publicKey);
    // Twice: the second call takes the key parsed by the first.
    assert.equal(appCrypto.verifySignature(pem, data, signature), true, namedCurve);
    assert.equal(appCrypto.verifySignature(pem, data, signature), true, `${namedCurve}, again`);
    const flipped = Buffer.from(signature);
    flipped[5] = (flipped[5] as number) ^ 1;
    assert.equal(appCrypto.verifySignature(pem, data, flipped), false, `${namedCurve}, flipped`);
    assert.equal(
      appCrypto.verifySignature(pem, Buffer.from("other"), signature),
      false,
      `${namedCurve}, data`,
    );
    assert.equal(appCrypto.verifySignature(pem, data, signature.subarray(1)), false, `${namedCurve}, short`);
    // A DER signature is not the form the API takes.
    const der = sign("sha256", data, privateKey);
    assert.equal(appCrypto.verifySignature(pem, data, der), false, `${namedCurve}, DER`);
  }
});

test("a SHA-384 signature does not pass for SHA-256 on P-384", () => {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-384" });
  const signature = sign("sha384", data, { key: privateKey, dsaEncoding: "ieee-p1363" });
  assert.equal(appCrypto.verifySignature(pemOf(publicKey), data, signature), false);
});

test("RSA PKCS#1 v1.5 over SHA-256 verifies; another key does not", () => {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const other = generateKeyPairSync("rsa", { modulusLength: 2048 }).publicKey;
  const signature = sign("sha256", data, privateKey);
  assert.equal(appCrypto.verifySignature(pemOf(publicKey), data, signature), true);
  assert.equal(appCrypto.verifySignature(pemOf(other), data, signature), false);
});

test("a key that cannot be read, or an empty signature, is false rather than an exception", () => {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const signature = sign("sha256", data, { key: privateKey, dsaEncoding: "ieee-p1363" });
  assert.equal(appCrypto.verifySignature("not a key", data, signature), false);
  assert.equal(appCrypto.verifySignature(pemOf(publicKey).replace("A", "*"), data, signature), false);
  assert.equal(appCrypto.verifySignature(pemOf(publicKey), data, new Uint8Array(0)), false);
});
