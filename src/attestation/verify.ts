import { refuse } from "./encoding.ts";
import { validatePolicy } from "./policy.ts";
import { amdRoots, type SnpTrustedRoot } from "./snp/roots.ts";
import { authenticateSnpEvidence, verifySnpEvidence } from "./snp/verify.ts";
import type { AttestationPolicy, Evidence, SnpEvidence, VerifiedEvidence, VirtualEvidence } from "./types.ts";
import { authenticateVirtualEvidence, verifyVirtualEvidence } from "./virtual/statement.ts";

export type VerifyEvidenceOptions = {
  /** Roots to trust instead of AMD's pinned ARKs (tests inject a test root here). */
  trustedRoots?: readonly SnpTrustedRoot[];
  /** Time for certificate validity, ms since the epoch; default now. */
  nowMs?: number;
};

function platformOf(evidence: unknown): "sev-snp" | "virtual" {
  if (typeof evidence !== "object" || evidence === null) {
    refuse("COTERIE_ERR_ATTESTATION_MALFORMED", "evidence must be an object");
  }
  const platform = (evidence as { platform?: unknown }).platform;
  if (platform === "sev-snp" || platform === "virtual") return platform;
  const shown = typeof platform === "string" ? JSON.stringify(platform.slice(0, 40)) : typeof platform;
  return refuse("COTERIE_ERR_ATTESTATION_MALFORMED", `unknown evidence platform ${shown}`);
}

/**
 * Verifies a joiner's evidence against the governance policy and the public key it presents.
 * Resolves to what the evidence proves; rejects with a `CoterieError` whose code names the one
 * reason for refusal (COTERIE_ERR_ATTESTATION_*), suitable for recording for the members.
 * A malformed `policy` is the caller's bug and throws TypeError/RangeError.
 *
 * @example
 * const verified = await verifyEvidence(joinRequest.evidence, policyFromGovernance, nodePublicKeyDer);
 */
export async function verifyEvidence(
  evidence: Evidence,
  policy: AttestationPolicy,
  nodePublicKeyDer: Uint8Array,
  options: VerifyEvidenceOptions = {},
): Promise<VerifiedEvidence> {
  validatePolicy(policy);
  if (!(nodePublicKeyDer instanceof Uint8Array) || nodePublicKeyDer.byteLength === 0) {
    throw new TypeError("nodePublicKeyDer must be the non-empty DER SubjectPublicKeyInfo of the node key");
  }
  if (platformOf(evidence) === "virtual") {
    return verifyVirtualEvidence(evidence as VirtualEvidence, policy, nodePublicKeyDer);
  }
  const roots = options.trustedRoots ?? amdRoots;
  return verifySnpEvidence(
    evidence as SnpEvidence,
    policy,
    nodePublicKeyDer,
    roots,
    options.nowMs ?? Date.now(),
  );
}

/**
 * Checks only that evidence is genuine (signatures, chain to a pinned root), applying no policy:
 * for recording what a refused joiner claimed, and for inspecting evidence in tools. Never use it
 * to admit a node — use `verifyEvidence`.
 */
export async function authenticateEvidence(
  evidence: Evidence,
  options: VerifyEvidenceOptions = {},
): Promise<VerifiedEvidence> {
  if (platformOf(evidence) === "virtual") return authenticateVirtualEvidence(evidence as VirtualEvidence);
  const roots = options.trustedRoots ?? amdRoots;
  return authenticateSnpEvidence(evidence as SnpEvidence, roots, options.nowMs ?? Date.now()).verified;
}
