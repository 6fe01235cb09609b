// The public API of the attestation layer. test/unit/attestation/exports.test.ts snapshots this
// list so that changes to it are deliberate.
export { createPlatform, type PlatformOptions } from "./platform.ts";
export { reportDataBytes, reportDataForPublicKey } from "./report-data.ts";
export { sealMagic } from "./seal.ts";
export { clearEndorsementsCache } from "./snp/chain.ts";
export type { SnpPlatformOptions } from "./snp/platform.ts";
export {
  type CommandProviderOptions,
  createCommandProvider,
  type SnpEvidenceProvider,
} from "./snp/provider.ts";
export { parseSnpReport, type SnpReport, snpReportLayout } from "./snp/report.ts";
export { amdRoots, type SnpTrustedRoot } from "./snp/roots.ts";
export type {
  AttestationPolicy,
  Evidence,
  Platform,
  PlatformName,
  SecurityDescription,
  SnpEvidence,
  SnpFacts,
  SnpProduct,
  SnpTcb,
  VerifiedEvidence,
  VirtualEvidence,
} from "./types.ts";
export { authenticateEvidence, type VerifyEvidenceOptions, verifyEvidence } from "./verify.ts";
export { type VirtualPlatformOptions, virtualMeasurement } from "./virtual/platform.ts";
