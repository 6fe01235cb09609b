import { createPublicKey, type KeyObject, sign, verify } from "node:crypto";
import { fromBase64, fromHex, refuse, toBase64, toHex } from "../encoding.ts";
import { checkHostData, checkMeasurement, checkReportData } from "../policy.ts";
import type { AttestationPolicy, VerifiedEvidence, VirtualEvidence } from "../types.ts";

/** Limits on the parts of virtual evidence (the real sizes are ~330, 64 and 44 bytes). */
const statementBytesMax = 1024;
const signatureBytes = 64;
const publicKeyBytesMax = 128;

export type VirtualClaims = { measurement: Uint8Array; hostData: Uint8Array; reportData: Uint8Array };

/** Signs the claims with the platform's Ed25519 key. The key proves nothing: anyone can make one. */
export function makeVirtualEvidence(
  claims: VirtualClaims,
  privateKey: KeyObject,
  publicKey: KeyObject,
): VirtualEvidence {
  const statement = {
    platform: "virtual",
    measurement: toHex(claims.measurement),
    hostData: toHex(claims.hostData),
    reportData: toHex(claims.reportData),
  };
  const bytes = new TextEncoder().encode(JSON.stringify(statement));
  return {
    platform: "virtual",
    statement: toBase64(bytes),
    signature: toBase64(sign(null, bytes, privateKey)),
    publicKey: toBase64(publicKey.export({ type: "spki", format: "der" })),
  };
}

function parseStatement(bytes: Uint8Array): VirtualClaims {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    refuse("COTERIE_ERR_ATTESTATION_MALFORMED", "virtual statement is not UTF-8 JSON");
  }
  const s = json as Record<string, unknown>;
  const keys = typeof s === "object" && s !== null ? Object.keys(s).sort().join(",") : "";
  if (keys !== "hostData,measurement,platform,reportData" || s.platform !== "virtual") {
    refuse(
      "COTERIE_ERR_ATTESTATION_MALFORMED",
      "virtual statement must have exactly platform, measurement, hostData, reportData",
    );
  }
  return {
    measurement: fromHex(s.measurement, "measurement", 48),
    hostData: fromHex(s.hostData, "hostData", 32),
    reportData: fromHex(s.reportData, "reportData", 64),
  };
}

function ed25519Key(der: Uint8Array): KeyObject {
  try {
    const key = createPublicKey({ key: Buffer.from(der), format: "der", type: "spki" });
    if (key.asymmetricKeyType === "ed25519") return key;
  } catch {}
  refuse("COTERIE_ERR_ATTESTATION_MALFORMED", "virtual evidence public key is not an Ed25519 SPKI");
}

/** Checks the statement's form and signature (which only detects accidents: the key is self-asserted). */
export function authenticateVirtualEvidence(evidence: VirtualEvidence): VerifiedEvidence {
  const bytes = fromBase64(evidence.statement, "statement", statementBytesMax);
  const signature = fromBase64(evidence.signature, "signature", signatureBytes);
  const key = ed25519Key(fromBase64(evidence.publicKey, "publicKey", publicKeyBytesMax));
  if (signature.byteLength !== signatureBytes || !verify(null, bytes, key, signature)) {
    refuse("COTERIE_ERR_ATTESTATION_BAD_SIGNATURE", "virtual statement signature does not verify");
  }
  const claims = parseStatement(bytes);
  return {
    platform: "virtual",
    insecure: true,
    measurement: toHex(claims.measurement),
    hostData: toHex(claims.hostData),
    reportData: toHex(claims.reportData),
  };
}

/**
 * Verifies virtual evidence: refused outright unless the policy allows the virtual platform; then
 * `authenticateVirtualEvidence`, then the same measurement, host data and report data checks as
 * SEV-SNP.
 */
export function verifyVirtualEvidence(
  evidence: VirtualEvidence,
  policy: AttestationPolicy,
  nodePublicKeyDer: Uint8Array,
): VerifiedEvidence {
  if (policy.allowVirtual !== true) {
    refuse(
      "COTERIE_ERR_ATTESTATION_PLATFORM_NOT_ALLOWED",
      "virtual (insecure) evidence is not allowed by the policy",
    );
  }
  const verified = authenticateVirtualEvidence(evidence);
  checkMeasurement(fromHex(verified.measurement, "measurement", 48), policy);
  checkHostData(fromHex(verified.hostData, "hostData", 32), policy);
  checkReportData(fromHex(verified.reportData, "reportData", 64), nodePublicKeyDer);
  return verified;
}
