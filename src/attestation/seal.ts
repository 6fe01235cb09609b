import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from "node:crypto";
import { assert } from "../util/assert.ts";
import { refuse } from "./encoding.ts";

/** Largest secret we seal (identity keys and ledger secrets are a few KiB). */
export const sealedPlaintextBytesMax = 16 * 1024 * 1024;
/** Largest label, in UTF-8 bytes. */
export const sealLabelBytesMax = 256;

const formatVersion = 1;
const nonceBytes = 12;
const tagBytes = 16;

/**
 * The first line of every sealed file says what protects it, so an operator who opens one sees
 * at once whether it is hardware-sealed or merely obfuscated.
 */
export const sealMagic = {
  virtual: "INSECURE-VIRTUAL-SEAL\n",
  snp: "COTERIE-SEV-SNP-SEAL\n",
} as const;

export type SealMagic = (typeof sealMagic)[keyof typeof sealMagic];

function labelBytes(label: string): Uint8Array {
  if (typeof label !== "string") throw new TypeError("seal label must be a string");
  const bytes = new TextEncoder().encode(label);
  if (bytes.byteLength === 0 || bytes.byteLength > sealLabelBytesMax) {
    throw new RangeError(`seal label must be 1..${sealLabelBytesMax} UTF-8 bytes`);
  }
  return bytes;
}

/** AES-256-GCM key for one label: HKDF-SHA256(base key, salt, "coterie/seal/v1/" ‖ label). */
function sealKey(baseKey: Uint8Array, salt: Uint8Array, label: Uint8Array): Uint8Array {
  assert(baseKey.byteLength >= 32, "sealing base key must have at least 32 bytes");
  const info = Buffer.concat([Buffer.from("coterie/seal/v1/"), label]);
  return new Uint8Array(hkdfSync("sha256", baseKey, salt, info, 32));
}

function header(magic: SealMagic): Uint8Array {
  return Buffer.concat([Buffer.from(magic, "ascii"), Uint8Array.of(formatVersion)]);
}

/**
 * Sealed layout: magic line ‖ version (1 byte) ‖ nonce (12) ‖ ciphertext ‖ GCM tag (16).
 * The AAD is the header and the label, so a file sealed for one purpose cannot be unsealed for another.
 */
export function sealWith(
  magic: SealMagic,
  baseKey: Uint8Array,
  salt: Uint8Array,
  plaintext: Uint8Array,
  label: string,
): Uint8Array {
  if (!(plaintext instanceof Uint8Array)) throw new TypeError("plaintext must be a Uint8Array");
  if (plaintext.byteLength > sealedPlaintextBytesMax) throw new RangeError("plaintext too large to seal");
  const labelUtf8 = labelBytes(label);
  const head = header(magic);
  const nonce = randomBytes(nonceBytes);
  const cipher = createCipheriv("aes-256-gcm", sealKey(baseKey, salt, labelUtf8), nonce);
  cipher.setAAD(Buffer.concat([head, labelUtf8]));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return new Uint8Array(Buffer.concat([head, nonce, body, cipher.getAuthTag()]));
}

export function unsealWith(
  magic: SealMagic,
  baseKey: Uint8Array,
  salt: Uint8Array,
  sealed: Uint8Array,
  label: string,
): Uint8Array {
  const labelUtf8 = labelBytes(label);
  const head = header(magic);
  if (
    sealed.byteLength < head.byteLength + nonceBytes + tagBytes ||
    !Buffer.from(head).equals(sealed.subarray(0, head.byteLength))
  ) {
    refuse(
      "COTERIE_ERR_ATTESTATION_UNSEAL_FAILED",
      `not a ${magic.trim()} file of format version ${formatVersion}`,
    );
  }
  const nonce = sealed.subarray(head.byteLength, head.byteLength + nonceBytes);
  const body = sealed.subarray(head.byteLength + nonceBytes, sealed.byteLength - tagBytes);
  const decipher = createDecipheriv("aes-256-gcm", sealKey(baseKey, salt, labelUtf8), nonce);
  decipher.setAAD(Buffer.concat([head, labelUtf8]));
  decipher.setAuthTag(sealed.subarray(sealed.byteLength - tagBytes));
  try {
    return new Uint8Array(Buffer.concat([decipher.update(body), decipher.final()]));
  } catch {
    refuse(
      "COTERIE_ERR_ATTESTATION_UNSEAL_FAILED",
      "sealed data does not authenticate: other label, changed measurement, other machine or corrupted",
    );
  }
}
