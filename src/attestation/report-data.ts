import { createHash } from "node:crypto";
import { assert } from "../util/assert.ts";

/** Size of the report data field on every platform (SEV-SNP REPORT_DATA is 64 bytes). */
export const reportDataBytes = 64;

/**
 * The report data that binds a node's key into its evidence: SHA-256 of the DER
 * SubjectPublicKeyInfo of the node's identity public key, followed by 32 zero bytes.
 *
 * Why: the evidence then only vouches for that key, so it cannot be replayed by a machine that
 * does not hold the private key. The zero padding is checked too, so the field carries nothing else.
 *
 * @example reportDataForPublicKey(nodeKey.export({ type: "spki", format: "der" }))
 */
export function reportDataForPublicKey(publicKeySpkiDer: Uint8Array): Uint8Array {
  assert(publicKeySpkiDer.byteLength > 0, "public key DER must not be empty");
  const out = new Uint8Array(reportDataBytes);
  out.set(createHash("sha256").update(publicKeySpkiDer).digest(), 0);
  return out;
}
