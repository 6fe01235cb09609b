/**
 * The state digest a member acknowledges to become Active: what it agrees to take part in — the
 * members (id, status, member data), the constitution, and the service identity. Hex SHA-256 of
 * the canonical JSON (sorted keys, no spaces) of
 *   { "constitution": hex SHA-256(source), "members": [[id, status, member_data|null], ...by id],
 *     "service_cert_id": hex SHA-256(service certificate DER) | null }.
 * Anyone holding the ledger can recompute it at any seqno.
 */
import { sha256Hex } from "../crypto/hash.ts";
import { certificateId } from "../crypto/x509.ts";
import type { Tx } from "../kv/index.ts";
import { CONSTITUTION_KEY, constitutionTable } from "../tables/governance.ts";
import { memberInfo } from "../tables/identities.ts";
import { SERVICE_INFO_KEY, serviceInfo } from "../tables/service.ts";

/** JSON with object keys sorted at every level, so equal values hash equally. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (typeof value === "object" && value !== null) {
    const keys = Object.keys(value).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`).join(",")}}`;
  }
  return JSON.stringify(value ?? null);
}

export function stateDigest(tx: Tx): string {
  const members: Array<[string, string, unknown]> = [];
  memberInfo.in(tx).forEach((id, info) => {
    members.push([id, info.status, info.member_data ?? null]);
  });
  const source = constitutionTable.in(tx).get(CONSTITUTION_KEY) ?? "";
  const service = serviceInfo.in(tx).get(SERVICE_INFO_KEY);
  const text = canonicalJson({
    constitution: sha256Hex(new TextEncoder().encode(source)),
    members,
    service_cert_id: service ? certificateId(service.cert) : null,
  });
  return sha256Hex(new TextEncoder().encode(text));
}
