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

/**
 * Joins refused on attestation, for the members to see: key = hex SHA-256 of the joiner's public
 * key (DER), value = the stable error code and message. Bounded by the join route.
 */
export type JoinRefusal = { code: string; reason: string; at_seqno: number };
export const joinRefusals = defineTable("public:coterie.gov.nodes.join_refusals", utf8, json<JoinRefusal>());

/** The host data the virtual platform reports: 32 zero bytes. */
export const VIRTUAL_HOST_DATA = "00".repeat(32);
