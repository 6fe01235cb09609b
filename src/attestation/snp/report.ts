import { refuse, toHex } from "../encoding.ts";

/**
 * Layout of the SEV-SNP ATTESTATION_REPORT (AMD SEV-SNP ABI specification, "ATTESTATION_REPORT
 * Structure" table). All integers are little-endian. docs/attestation.md has the full table.
 */
export const snpReportLayout = {
  bytesLength: 0x4a0,
  version: 0x000,
  guestSvn: 0x004,
  policy: 0x008,
  familyId: 0x010,
  imageId: 0x020,
  vmpl: 0x030,
  signatureAlgo: 0x034,
  currentTcb: 0x038,
  platformInfo: 0x040,
  flags: 0x048,
  reportData: 0x050,
  measurement: 0x090,
  hostData: 0x0c0,
  idKeyDigest: 0x0e0,
  authorKeyDigest: 0x110,
  reportId: 0x140,
  reportIdMa: 0x160,
  reportedTcb: 0x180,
  cpuidFamId: 0x188,
  cpuidModId: 0x189,
  cpuidStep: 0x18a,
  chipId: 0x1a0,
  committedTcb: 0x1e0,
  currentBuild: 0x1e8,
  currentMinor: 0x1e9,
  currentMajor: 0x1ea,
  committedBuild: 0x1ec,
  committedMinor: 0x1ed,
  committedMajor: 0x1ee,
  launchTcb: 0x1f0,
  /** Bytes [0, signedEnd) are covered by the signature. */
  signedEnd: 0x2a0,
  signatureR: 0x2a0,
  signatureS: 0x2e8,
  /** Each of r and s is a 72-byte little-endian integer; P-384 uses the low 48 bytes. */
  signatureComponentBytes: 72,
  signatureReserved: 0x330,
} as const;

/** Report versions whose fields at the offsets above are known: 2 (first), 3 (CPUID), 4, 5. */
export const snpReportVersions = { min: 2, max: 5 } as const;
/** SIGNATURE_ALGO value for ECDSA P-384 with SHA-384, the only one defined. */
export const snpSignatureAlgoEcdsaP384Sha384 = 1;
/** Guest policy bit that allows the host to debug (read and write) guest memory. */
export const snpPolicyDebugBit = 19n;

/** A parsed report: the bytes we check, views into `raw` (which the caller must not mutate). */
export type SnpReport = {
  raw: Uint8Array;
  version: number;
  guestSvn: number;
  policy: bigint;
  vmpl: number;
  signatureAlgo: number;
  /** FLAGS bits 2..4: 0 = VCEK, 1 = VLEK, 7 = none. */
  signingKey: number;
  maskChipKey: boolean;
  reportData: Uint8Array;
  measurement: Uint8Array;
  hostData: Uint8Array;
  reportedTcbRaw: Uint8Array;
  chipId: Uint8Array;
  signedBytes: Uint8Array;
  signatureR: Uint8Array;
  signatureS: Uint8Array;
};

function slice(raw: Uint8Array, offset: number, length: number): Uint8Array {
  return raw.subarray(offset, offset + length);
}

/**
 * Parses the report and checks its structure: exact length, a known version, the one signature
 * algorithm, a VCEK signature, and zeros wherever the format leaves no room for data in the
 * signature area (so every byte of the report is either signed or required to be zero).
 */
export function parseSnpReport(raw: Uint8Array): SnpReport {
  const L = snpReportLayout;
  if (raw.byteLength !== L.bytesLength) {
    refuse(
      "COTERIE_ERR_ATTESTATION_MALFORMED",
      `SEV-SNP report must be ${L.bytesLength} bytes, got ${raw.byteLength} (truncated or padded)`,
    );
  }
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const version = view.getUint32(L.version, true);
  if (version < snpReportVersions.min || version > snpReportVersions.max) {
    refuse(
      "COTERIE_ERR_ATTESTATION_UNSUPPORTED_REPORT",
      `SEV-SNP report version ${version} is not supported`,
    );
  }
  const signatureAlgo = view.getUint32(L.signatureAlgo, true);
  if (signatureAlgo !== snpSignatureAlgoEcdsaP384Sha384) {
    refuse(
      "COTERIE_ERR_ATTESTATION_UNSUPPORTED_REPORT",
      `SEV-SNP signature algorithm ${signatureAlgo} is not supported`,
    );
  }
  const flags = view.getUint32(L.flags, true);
  const signingKey = (flags >>> 2) & 0b111;
  if (signingKey !== 0) {
    refuse(
      "COTERIE_ERR_ATTESTATION_UNSUPPORTED_REPORT",
      `SEV-SNP signing key ${signingKey} is not a VCEK (VLEK is not supported)`,
    );
  }
  checkSignatureArea(raw);
  return {
    raw,
    version,
    guestSvn: view.getUint32(L.guestSvn, true),
    policy: view.getBigUint64(L.policy, true),
    vmpl: view.getUint32(L.vmpl, true),
    signatureAlgo,
    signingKey,
    maskChipKey: (flags & 0b10) !== 0,
    reportData: slice(raw, L.reportData, 64),
    measurement: slice(raw, L.measurement, 48),
    hostData: slice(raw, L.hostData, 32),
    reportedTcbRaw: slice(raw, L.reportedTcb, 8),
    chipId: slice(raw, L.chipId, 64),
    signedBytes: slice(raw, 0, L.signedEnd),
    signatureR: slice(raw, L.signatureR, L.signatureComponentBytes),
    signatureS: slice(raw, L.signatureS, L.signatureComponentBytes),
  };
}

/** r and s are 72-byte fields holding 48-byte values; the rest of the area is reserved. */
function checkSignatureArea(raw: Uint8Array): void {
  const L = snpReportLayout;
  const zeroRanges: Array<[number, number]> = [
    [L.signatureR + 48, L.signatureS],
    [L.signatureS + 48, L.signatureReserved],
    [L.signatureReserved, L.bytesLength],
  ];
  for (const [start, end] of zeroRanges) {
    for (let i = start; i < end; i++) {
      if (raw[i] !== 0) {
        refuse(
          "COTERIE_ERR_ATTESTATION_MALFORMED",
          `SEV-SNP report byte 0x${i.toString(16)} in the signature area must be zero`,
        );
      }
    }
  }
}

/** The JSON-friendly policy value, e.g. "0x30000". */
export function policyHex(report: SnpReport): string {
  return `0x${report.policy.toString(16)}`;
}

export function chipIdHex(report: SnpReport): string {
  return toHex(report.chipId);
}
