import { bytesEqual, hexSet, refuse, toHex } from "./encoding.ts";
import { reportDataForPublicKey } from "./report-data.ts";
import type { AttestationPolicy, SnpProduct, SnpTcb } from "./types.ts";

/** Allow-list entries per list; governance tables are small, and this bounds the work per check. */
export const policyEntriesMax = 1024;

function checkHexList(list: unknown, what: string, bytesLength: number): void {
  if (!Array.isArray(list)) throw new TypeError(`policy.${what} must be an array of hex strings`);
  if (list.length > policyEntriesMax)
    throw new RangeError(`policy.${what} has more than ${policyEntriesMax} entries`);
  for (const h of list) {
    if (typeof h !== "string" || h.length !== bytesLength * 2 || !/^[0-9a-fA-F]+$/.test(h)) {
      throw new TypeError(
        `policy.${what} entries must be ${bytesLength} bytes of hex, got ${JSON.stringify(h)}`,
      );
    }
  }
}

function checkTcb(tcb: SnpTcb | undefined, product: string): void {
  if (tcb === undefined) return;
  for (const [name, svn] of Object.entries(tcb)) {
    if (!Number.isInteger(svn) || svn < 0 || svn > 255) {
      throw new RangeError(`policy.minTcb.${product}.${name} must be an integer 0..255`);
    }
  }
}

/**
 * Validates a policy once, at the boundary where governance hands it over: a malformed policy is
 * a programming or configuration error (TypeError/RangeError), not a refusal of the joiner.
 */
export function validatePolicy(policy: AttestationPolicy): void {
  if (typeof policy !== "object" || policy === null) throw new TypeError("policy must be an object");
  checkHexList(policy.measurements, "measurements", 48);
  checkHexList(policy.hostData, "hostData", 32);
  if (typeof policy.minTcb !== "object" || policy.minTcb === null)
    throw new TypeError("policy.minTcb must be an object");
  for (const [product, tcb] of Object.entries(policy.minTcb)) checkTcb(tcb, product);
}

export function checkMeasurement(measurement: Uint8Array, policy: AttestationPolicy): void {
  const hex = toHex(measurement);
  if (!hexSet(policy.measurements).has(hex)) {
    refuse("COTERIE_ERR_ATTESTATION_MEASUREMENT_NOT_ALLOWED", `measurement ${hex} is not allowed`, {
      measurement: hex,
    });
  }
}

export function checkHostData(hostData: Uint8Array, policy: AttestationPolicy): void {
  const hex = toHex(hostData);
  if (!hexSet(policy.hostData).has(hex)) {
    refuse("COTERIE_ERR_ATTESTATION_HOST_DATA_NOT_ALLOWED", `host data ${hex} is not allowed`, {
      hostData: hex,
    });
  }
}

/** The evidence must bind exactly this key: report data == SHA-256(SPKI DER) ‖ 32 zero bytes. */
export function checkReportData(reportData: Uint8Array, nodePublicKeyDer: Uint8Array): void {
  if (!bytesEqual(reportData, reportDataForPublicKey(nodePublicKeyDer))) {
    refuse(
      "COTERIE_ERR_ATTESTATION_REPORT_DATA_MISMATCH",
      "evidence report data does not bind the presented public key (evidence for another key)",
    );
  }
}

export function minTcbFor(policy: AttestationPolicy, product: SnpProduct): SnpTcb {
  const min = policy.minTcb[product];
  if (min === undefined) {
    refuse(
      "COTERIE_ERR_ATTESTATION_TCB_TOO_OLD",
      `policy sets no minimum TCB for ${product}; refusing (set one, all zeros accepts any)`,
    );
  }
  return min;
}
