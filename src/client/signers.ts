/**
 * Signing keys for COSE-signed requests: a member's governance requests, and a user's app writes
 * on endpoints with the `user_cose_sign1` policy. The kid is the 32 raw bytes of
 * SHA-256(certificate DER), for members and users alike. Three ways to sign:
 * - a WebCrypto key (in a browser, generated or imported non-extractable: script can use it but
 *   never read it) — `signerFromCryptoKey`, `createIdentity`;
 * - a PKCS#8 PEM private key (Node, from `coterie keygen`) — `signerFromPem`;
 * - anything else (HSM, cloud KMS, a hardware wallet): implement `CoseSigner` yourself.
 */
import { X509CertificateGenerator } from "@peculiar/x509";
import { COSE_ALG, type CoseAlg, type CoseSigner, cryptoKeySigner } from "../crypto/cose.ts";
import { sha256 } from "../crypto/merkle.ts";

const CURVE_ALG: Record<string, CoseAlg> = { "P-256": COSE_ALG.ES256, "P-384": COSE_ALG.ES384 };

/** The DER bytes of the first PEM block labelled `label` in `pem`. */
export function pemToDer(pem: string, label = "CERTIFICATE"): Uint8Array {
  const m = new RegExp(`-----BEGIN ${label}-----([A-Za-z0-9+/=\\s]+)-----END ${label}-----`).exec(pem);
  if (m === null) throw new TypeError(`not a PEM ${label}`);
  const binary = atob((m[1] as string).replace(/\s+/g, ""));
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

/** The COSE kid of an identity: SHA-256 of its certificate's DER (32 raw bytes). */
export function certificateKid(certPem: string): Promise<Uint8Array> {
  return sha256(pemToDer(certPem));
}

/** A signer over a WebCrypto ECDSA private key (P-256 → ES256, P-384 → ES384) for the identity `certPem`. */
export async function signerFromCryptoKey(privateKey: CryptoKey, certPem: string): Promise<CoseSigner> {
  const curve = (privateKey.algorithm as EcKeyAlgorithm).namedCurve;
  const alg = CURVE_ALG[curve];
  if (alg === undefined) throw new TypeError(`signing keys are ECDSA P-256 or P-384, not ${curve}`);
  return cryptoKeySigner(privateKey, await certificateKid(certPem), alg);
}

/** A signer over a PKCS#8 PEM private key; the key is imported non-extractable. */
export async function signerFromPem(privateKeyPem: string, certPem: string): Promise<CoseSigner> {
  const der = pemToDer(privateKeyPem, "PRIVATE KEY") as Uint8Array<ArrayBuffer>;
  let lastError: unknown;
  for (const namedCurve of ["P-384", "P-256"]) {
    try {
      const key = await globalThis.crypto.subtle.importKey(
        "pkcs8",
        der,
        { name: "ECDSA", namedCurve },
        false,
        ["sign"],
      );
      return signerFromCryptoKey(key, certPem);
    } catch (error) {
      lastError = error;
    }
  }
  throw new TypeError("the private key is not a PKCS#8 ECDSA P-384 or P-256 key", { cause: lastError });
}

export type Identity = { certPem: string; privateKey: CryptoKey; signer: CoseSigner };

/**
 * A fresh identity made in WebCrypto: a non-extractable P-384 key and a self-signed certificate to
 * hand to the consortium (a proposal adds it as a member, `set_member`, or a user, `set_user`).
 */
export async function createIdentity(
  name: string,
  options: { validityDays?: number } = {},
): Promise<Identity> {
  if (!/^[A-Za-z0-9 ._-]{1,64}$/.test(name)) throw new TypeError("name: 1-64 letters, digits, space . _ -");
  const algorithm = { name: "ECDSA", namedCurve: "P-384", hash: "SHA-384" };
  const keys = await globalThis.crypto.subtle.generateKey(algorithm, false, ["sign", "verify"]);
  const notBefore = new Date();
  const notAfter = new Date(notBefore.getTime() + (options.validityDays ?? 365) * 86_400_000);
  const serial = Array.from(globalThis.crypto.getRandomValues(new Uint8Array(16)), (b) =>
    b.toString(16).padStart(2, "0"),
  );
  serial[0] = "01";
  const cert = await X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: serial.join(""),
      name: `CN=${name}`,
      notBefore,
      notAfter,
      keys,
      signingAlgorithm: algorithm,
    },
    globalThis.crypto,
  );
  const certPem = cert.toString("pem");
  return {
    certPem,
    privateKey: keys.privateKey,
    signer: await signerFromCryptoKey(keys.privateKey, certPem),
  };
}
