import type { KeyObject } from "node:crypto";
import { curveOf, verifyP1363 } from "../../crypto/keys.ts";
import type { SnpReport } from "./report.ts";

/** Bytes of one P-384 scalar. */
const scalarBytes = 48;

/** Little-endian 72-byte field → big-endian 48-byte scalar (the parser checked the top is zero). */
function scalarBigEndian(littleEndian: Uint8Array): Uint8Array {
  const out = new Uint8Array(scalarBytes);
  for (let i = 0; i < scalarBytes; i++) out[i] = littleEndian[scalarBytes - 1 - i] as number;
  return out;
}

/**
 * True when the report's ECDSA P-384 / SHA-384 signature over bytes 0x000..0x29F verifies under
 * `vcekPublicKey`. The signature is rebuilt as IEEE P1363 `r ‖ s` (big-endian, 48 bytes each).
 */
export function snpSignatureValid(report: SnpReport, vcekPublicKey: KeyObject): boolean {
  const signature = new Uint8Array(2 * scalarBytes);
  signature.set(scalarBigEndian(report.signatureR), 0);
  signature.set(scalarBigEndian(report.signatureS), scalarBytes);
  try {
    // verifyP1363 hashes with the key's curve: only a P-384 VCEK gives the SHA-384 the ABI names.
    return curveOf(vcekPublicKey) === "P-384" && verifyP1363(vcekPublicKey, report.signedBytes, signature);
  } catch {
    return false; // a key on another curve, or not an EC key at all
  }
}
