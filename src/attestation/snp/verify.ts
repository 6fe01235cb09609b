import { bytesEqual, fromBase64, refuse, toHex } from "../encoding.ts";
import { checkHostData, checkMeasurement, checkReportData, minTcbFor } from "../policy.ts";
import type { AttestationPolicy, SnpEvidence, SnpTcb, VerifiedEvidence } from "../types.ts";
import { type VerifiedChain, verifyEndorsements } from "./chain.ts";
import {
  chipIdHex,
  parseSnpReport,
  policyHex,
  type SnpReport,
  snpPolicyDebugBit,
  snpReportLayout,
} from "./report.ts";
import type { SnpTrustedRoot } from "./roots.ts";
import { snpSignatureValid } from "./signature.ts";
import { decodeTcb, tcbShortfalls } from "./tcb.ts";

/** The VCEK is derived for one chip and one reported TCB; its certificate says which. */
function checkVcekMatchesReport(report: SnpReport, chain: VerifiedChain, tcb: SnpTcb): void {
  const v = chain.vcek;
  if (
    v.bootloader !== tcb.bootloader ||
    v.tee !== tcb.tee ||
    v.snp !== tcb.snp ||
    v.microcode !== tcb.microcode
  ) {
    refuse(
      "COTERIE_ERR_ATTESTATION_BAD_CHAIN",
      "VCEK certificate is for another TCB than the report's reported TCB",
    );
  }
  if (report.maskChipKey) return;
  const hwIdOk = v.hwId.byteLength >= 8 && bytesEqual(v.hwId, report.chipId.subarray(0, v.hwId.byteLength));
  if (!hwIdOk)
    refuse("COTERIE_ERR_ATTESTATION_BAD_CHAIN", "VCEK certificate is for another chip than the report's");
}

function checkGuestPolicy(report: SnpReport, policy: AttestationPolicy): void {
  const debug = ((report.policy >> snpPolicyDebugBit) & 1n) === 1n;
  if (debug && policy.allowDebug !== true) {
    refuse(
      "COTERIE_ERR_ATTESTATION_DEBUG_POLICY",
      `guest policy ${policyHex(report)} allows debugging (bit 19)`,
    );
  }
}

function checkTcb(tcb: SnpTcb, policy: AttestationPolicy, chain: VerifiedChain): void {
  const short = tcbShortfalls(tcb, minTcbFor(policy, chain.product));
  if (short.length > 0) {
    refuse(
      "COTERIE_ERR_ATTESTATION_TCB_TOO_OLD",
      `reported TCB below the ${chain.product} minimum: ${short.join(", ")}`,
      {
        reportedTcb: tcb,
      },
    );
  }
}

type Authenticated = { verified: VerifiedEvidence; report: SnpReport; chain: VerifiedChain; tcb: SnpTcb };

/**
 * Checks that SEV-SNP evidence is genuine, without any policy: structure, chain to a pinned root,
 * report signature, VCEK-vs-report consistency. What it returns are facts signed by AMD hardware.
 */
export function authenticateSnpEvidence(
  evidence: SnpEvidence,
  roots: readonly SnpTrustedRoot[],
  nowMs: number,
): Authenticated {
  const report = parseSnpReport(fromBase64(evidence.report, "report", snpReportLayout.bytesLength));
  const chain = verifyEndorsements(evidence.endorsements, roots, nowMs);
  if (!snpSignatureValid(report, chain.vcekPublicKey)) {
    refuse(
      "COTERIE_ERR_ATTESTATION_BAD_SIGNATURE",
      "SEV-SNP report signature does not verify under the VCEK",
    );
  }
  const tcb = decodeTcb(report.reportedTcbRaw, chain.product);
  checkVcekMatchesReport(report, chain, tcb);
  const verified: VerifiedEvidence = {
    platform: "sev-snp",
    insecure: false,
    measurement: toHex(report.measurement),
    hostData: toHex(report.hostData),
    reportData: toHex(report.reportData),
    snp: {
      product: chain.product,
      reportVersion: report.version,
      guestSvn: report.guestSvn,
      policy: policyHex(report),
      vmpl: report.vmpl,
      reportedTcb: tcb,
      chipId: chipIdHex(report),
    },
  };
  return { verified, report, chain, tcb };
}

/**
 * Verifies SEV-SNP evidence. Order (docs/attestation.md): authenticity first
 * (`authenticateSnpEvidence`), then policy: debug, TCB, measurement, host data, report data.
 * Cryptographic checks come first so that a policy refusal always describes a genuine report.
 */
export function verifySnpEvidence(
  evidence: SnpEvidence,
  policy: AttestationPolicy,
  nodePublicKeyDer: Uint8Array,
  roots: readonly SnpTrustedRoot[],
  nowMs: number,
): VerifiedEvidence {
  const { verified, report, chain, tcb } = authenticateSnpEvidence(evidence, roots, nowMs);
  checkGuestPolicy(report, policy);
  checkTcb(tcb, policy, chain);
  checkMeasurement(report.measurement, policy);
  checkHostData(report.hostData, policy);
  checkReportData(report.reportData, nodePublicKeyDer);
  return verified;
}
