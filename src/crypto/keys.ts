/**
 * Asymmetric keys on node:crypto (node-only). The service identity is ECDSA P-384 with SHA-384;
 * a node identity is P-384 or P-256 (SHA-256), its `nodeKey.curve`. Signatures travel in IEEE
 * P1363 form (r ‖ s), the form WebCrypto verifies directly.
 */
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign,
  verify,
  webcrypto,
} from "node:crypto";
import { p256, p384 } from "@noble/curves/nist.js";

export type Curve = "P-256" | "P-384";

export type KeyPair = { privateKey: KeyObject; publicKey: KeyObject };

const hashOf: Record<Curve, string> = { "P-256": "sha256", "P-384": "sha384" };

export function generateKeyPair(curve: Curve = "P-384"): KeyPair {
  return generateKeyPairSync("ec", { namedCurve: curve });
}

/** Reading `asymmetricKeyDetails` crosses into C++ and builds an object: once per key is enough. */
const curves = new WeakMap<KeyObject, Curve>();

export function curveOf(key: KeyObject): Curve {
  const known = curves.get(key);
  if (known !== undefined) return known;
  const name = key.asymmetricKeyDetails?.namedCurve;
  let curve: Curve;
  if (name === "prime256v1" || name === "P-256") curve = "P-256";
  else if (name === "secp384r1" || name === "P-384") curve = "P-384";
  else throw new TypeError(`unsupported key curve: ${String(name)}`);
  curves.set(key, curve);
  return curve;
}

/** The curves' signature codecs (DER ⇄ r ‖ s), from @noble/curves. */
const signatureCodec = { "P-256": p256.Signature, "P-384": p384.Signature };

/**
 * ECDSA signature in P1363 form, hashing with the curve's SHA-2 (P-256 → SHA-256, P-384 → SHA-384).
 * node:crypto signs in DER and @noble/curves re-encodes it: node:crypto's own `dsaEncoding:
 * "ieee-p1363"` option cost more than the P-256 signature itself (93–149 against 56–71 µs of CPU per
 * call with the re-encoding, docs/performance.md, "Signature encoding").
 */
export function signP1363(privateKey: KeyObject, data: Uint8Array): Uint8Array {
  const curve = curveOf(privateKey);
  const der = sign(hashOf[curve], data, privateKey);
  return signatureCodec[curve].fromBytes(der, "der").toBytes("compact");
}

const cryptoKeys = new WeakMap<KeyObject, webcrypto.CryptoKey>();

/**
 * `signP1363` on libuv's thread pool (WebCrypto's ECDSA, which also yields r ‖ s): the calling
 * thread only queues the job, ~0.1 ms against ~1.6 ms for a P-384 signature made in place. The
 * non-extractable CryptoKey made from `privateKey` is cached for the key's lifetime.
 */
export async function signP1363Async(privateKey: KeyObject, data: Uint8Array): Promise<Uint8Array> {
  const curve = curveOf(privateKey);
  let key = cryptoKeys.get(privateKey);
  if (key === undefined) {
    key = privateKey.toCryptoKey({ name: "ECDSA", namedCurve: curve }, false, ["sign"]);
    cryptoKeys.set(privateKey, key);
  }
  const hash = curve === "P-256" ? "SHA-256" : "SHA-384";
  return new Uint8Array(await webcrypto.subtle.sign({ name: "ECDSA", hash }, key, data));
}

/**
 * Verifies a P1363 (r ‖ s) signature with the key's curve and hash. False for a signature that does
 * not verify, and for one that is not r ‖ s of the curve's length with r and s in [1, n - 1].
 * Re-encoded to DER for node:crypto, as in `signP1363` (P-256: 187–227 against 157–170 µs).
 */
export function verifyP1363(publicKey: KeyObject, data: Uint8Array, signature: Uint8Array): boolean {
  const curve = curveOf(publicKey);
  let der: Uint8Array;
  try {
    der = signatureCodec[curve].fromBytes(signature, "compact").toBytes("der");
  } catch {
    return false;
  }
  return verify(hashOf[curve], data, publicKey, der);
}

/**
 * Verifies a P1363 (r ‖ s) signature over SHA-256 whatever the key's curve, as the app API's
 * `verifySignature` promises. P-256 and P-384 keys go through DER as in `verifyP1363`; a key on
 * another curve through node:crypto's slower `dsaEncoding` option. False for a malformed signature.
 */
export function verifyP1363Sha256(publicKey: KeyObject, data: Uint8Array, signature: Uint8Array): boolean {
  let curve: Curve;
  try {
    curve = curveOf(publicKey);
  } catch {
    return verify("sha256", data, { key: publicKey, dsaEncoding: "ieee-p1363" }, signature);
  }
  let der: Uint8Array;
  try {
    der = signatureCodec[curve].fromBytes(signature, "compact").toBytes("der");
  } catch {
    return false;
  }
  return verify("sha256", data, publicKey, der);
}

export function privateKeyToPem(key: KeyObject): string {
  return key.export({ type: "pkcs8", format: "pem" }) as string;
}

export function publicKeyToPem(key: KeyObject): string {
  return key.export({ type: "spki", format: "pem" }) as string;
}

export function publicKeyDer(key: KeyObject): Buffer {
  return key.export({ type: "spki", format: "der" });
}

export function privateKeyFromPem(pem: string): KeyObject {
  return createPrivateKey(pem);
}

export function publicKeyFromPem(pem: string): KeyObject {
  return createPublicKey(pem);
}

/** The same key pair as WebCrypto keys, for @peculiar/x509 which works on CryptoKey. */
export async function toCryptoKeyPair(pair: KeyPair): Promise<CryptoKeyPair> {
  const algorithm = { name: "ECDSA", namedCurve: curveOf(pair.publicKey) };
  const privateKey = await crypto.subtle.importKey(
    "pkcs8",
    pair.privateKey.export({ type: "pkcs8", format: "der" }),
    algorithm,
    false,
    ["sign"],
  );
  const publicKey = await crypto.subtle.importKey(
    "spki",
    pair.publicKey.export({ type: "spki", format: "der" }),
    algorithm,
    true,
    ["verify"],
  );
  return { privateKey, publicKey };
}
