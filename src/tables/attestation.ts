/**
 * What governance allows to join (src/attestation's `AttestationPolicy` is assembled from these):
 * code measurements and host data, each an allow-list keyed by lowercase hex, and the minimum TCB
 * per SEV-SNP product. An empty list allows nothing.
 */
import { defineTable, json, utf8 } from "../kv/index.ts";

/** Key: measurement, 48 bytes as lowercase hex. */
export type CodeIdInfo = { status: "AllowedToJoin" };
export const codeIds = defineTable("public:coterie.gov.nodes.code_ids", utf8, json<CodeIdInfo>());

/** Key: host data, 32 bytes as lowercase hex. The value is reserved for metadata. */
export type HostDataInfo = { description?: string };
export const hostData = defineTable("public:coterie.gov.nodes.host_data", utf8, json<HostDataInfo>());

/** Key: product ("Milan", "Genoa", "Turin"). The SVNs of `AttestationPolicy.minTcb[product]`. */
export type SnpTcbMinimum = { bootloader: number; tee: number; snp: number; microcode: number; fmc?: number };
export const snpTcbMinimum = defineTable("public:coterie.gov.nodes.snp_tcb", utf8, json<SnpTcbMinimum>());
