/**
 * Encryption for ledger secrets and recovery shares (docs/ledger-format.md, "Ledger secrets and
 * recovery"):
 * - to a public key: RSA-OAEP with SHA-256 (MGF1-SHA-256) for RSA keys of at least 2048 bits, or
 *   ECIES for EC P-256/P-384 keys: an ephemeral key on the same curve, ECDH, HKDF-SHA256 (salt = the
 *   ephemeral SPKI DER, info = the label) to a 32-byte key, AES-256-GCM with a random nonce;
 * - under a symmetric key: AES-256-GCM with a random 12-byte nonce, output nonce ‖ ciphertext ‖ tag.
 * Random nonces are safe here: each key encrypts a handful of values, far below the 2^32 limit.
 */
import {
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  type KeyObject,
  privateDecrypt,
  publicEncrypt,
  randomBytes,
  constants as rsa,
} from "node:crypto";
import { aesGcmDecrypt, aesGcmEncrypt, GCM_NONCE_BYTES } from "../crypto/aead.ts";
import { CoterieError } from "../util/errors.ts";

export type Sealed = {
  algorithm: "RSA-OAEP-256" | "ECIES-P256" | "ECIES-P384";
  encrypted: string;
  ephemeral_public_key?: string;
};

const utf8 = (s: string) => Buffer.from(s, "utf8");

export function wrapUnder(key: Uint8Array, plaintext: Uint8Array, label: string): string {
  const nonce = randomBytes(GCM_NONCE_BYTES);
  return Buffer.concat([nonce, aesGcmEncrypt(key, nonce, plaintext, utf8(label))]).toString("base64");
}

/** The plaintext, or null when `key` does not open it (wrong key, wrong label, tampered). */
export function unwrapUnder(key: Uint8Array, encrypted: string, label: string): Buffer | null {
  const bytes = Buffer.from(encrypted, "base64");
  if (bytes.length < GCM_NONCE_BYTES) return null;
  return aesGcmDecrypt(key, bytes.subarray(0, GCM_NONCE_BYTES), bytes.subarray(GCM_NONCE_BYTES), utf8(label));
}

function eciesKey(shared: Buffer, ephemeralDer: Buffer, label: string): Buffer {
  return Buffer.from(hkdfSync("sha256", shared, ephemeralDer, utf8(label), 32));
}

function curveName(key: KeyObject): "P-256" | "P-384" {
  const c = key.asymmetricKeyDetails?.namedCurve;
  if (c === "prime256v1" || c === "P-256") return "P-256";
  if (c === "secp384r1" || c === "P-384") return "P-384";
  throw new CoterieError("COTERIE_ERR_RECOVERY_BAD_KEY", `unsupported curve ${String(c)}`);
}

/** Encrypts to an RSA (≥ 2048 bits) or EC P-256/P-384 public key (PEM or KeyObject). */
export function sealTo(publicKey: string | KeyObject, plaintext: Uint8Array, label: string): Sealed {
  const key = typeof publicKey === "string" ? createPublicKey(publicKey) : publicKey;
  if (key.asymmetricKeyType === "rsa") {
    if ((key.asymmetricKeyDetails?.modulusLength ?? 0) < 2048)
      throw new CoterieError(
        "COTERIE_ERR_RECOVERY_BAD_KEY",
        "RSA encryption keys must have at least 2048 bits",
      );
    const encrypted = publicEncrypt(
      { key, padding: rsa.RSA_PKCS1_OAEP_PADDING, oaepHash: "sha256" },
      plaintext,
    );
    return { algorithm: "RSA-OAEP-256", encrypted: encrypted.toString("base64") };
  }
  if (key.asymmetricKeyType !== "ec")
    throw new CoterieError("COTERIE_ERR_RECOVERY_BAD_KEY", "encryption keys must be RSA or EC P-256/P-384");
  const curve = curveName(key);
  const ephemeral = generateKeyPairSync("ec", { namedCurve: curve });
  const der = ephemeral.publicKey.export({ type: "spki", format: "der" });
  const shared = diffieHellman({ privateKey: ephemeral.privateKey, publicKey: key });
  return {
    algorithm: curve === "P-256" ? "ECIES-P256" : "ECIES-P384",
    encrypted: wrapUnder(eciesKey(shared, der, label), plaintext, label),
    ephemeral_public_key: der.toString("base64"),
  };
}

/** Decrypts what `sealTo` made for `privateKey`; throws COTERIE_ERR_RECOVERY_BAD_KEY when it does not open. */
export function openSealed(privateKey: KeyObject, sealed: Sealed, label: string): Buffer {
  const bad = () => new CoterieError("COTERIE_ERR_RECOVERY_BAD_KEY", "this key does not decrypt it");
  if (sealed.algorithm === "RSA-OAEP-256") {
    try {
      return privateDecrypt(
        { key: privateKey, padding: rsa.RSA_PKCS1_OAEP_PADDING, oaepHash: "sha256" },
        Buffer.from(sealed.encrypted, "base64"),
      );
    } catch {
      throw bad();
    }
  }
  if (sealed.ephemeral_public_key === undefined) throw bad();
  const der = Buffer.from(sealed.ephemeral_public_key, "base64");
  let plain: Buffer | null = null;
  try {
    const ephemeral = createPublicKey({ key: der, format: "der", type: "spki" });
    const shared = diffieHellman({ privateKey, publicKey: ephemeral });
    plain = unwrapUnder(eciesKey(shared, der, label), sealed.encrypted, label);
  } catch {
    plain = null;
  }
  if (plain === null) throw bad();
  return plain;
}
