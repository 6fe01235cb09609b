/**
 * The attestation policy governance has set, assembled from the allow-list tables in the shape
 * src/attestation verifies against. `allowVirtual` is not governed: the node passes it (true only
 * on the virtual platform, for development and CI).
 */
import type { AttestationPolicy, SnpProduct, SnpTcb } from "../attestation/index.ts";
import type { Tx } from "../kv/index.ts";
import { codeIds, hostData, snpTcbMinimum } from "../tables/attestation.ts";

export function attestationPolicyOf(tx: Tx, options: { allowVirtual?: boolean } = {}): AttestationPolicy {
  const measurements: string[] = [];
  codeIds.in(tx).forEach((m, info) => {
    if (info.status === "AllowedToJoin") measurements.push(m);
  });
  const hosts: string[] = [];
  hostData.in(tx).forEach((h) => {
    hosts.push(h);
  });
  const minTcb: Partial<Record<SnpProduct, SnpTcb>> = {};
  snpTcbMinimum.in(tx).forEach((product, tcb) => {
    minTcb[product as SnpProduct] = tcb;
  });
  return { measurements, hostData: hosts, minTcb, ...(options.allowVirtual ? { allowVirtual: true } : {}) };
}
