/**
 * The join request and response (docs/operations.md, "Joining"). The joiner proves possession of
 * nothing here: its evidence binds its public key (report data = SHA-256 of the SPKI), and the
 * secrets are sealed to that key (ECIES on the key's curve, P-256 or P-384: ephemeral ECDH,
 * HKDF-SHA256, AES-256-GCM), so only the holder of the private key inside the attested
 * environment can open them.
 */
import type { Evidence } from "../attestation/index.ts";
import type { NodeId } from "../consensus/index.ts";
import { CoterieError } from "../util/errors.ts";
import type { NodeAddresses } from "./network.ts";
import type { Sealed } from "./secrets-crypto.ts";

export const JOIN_SECRETS_LABEL = "coterie join: service key and ledger secrets";

export type JoinRequest = {
  /** PEM SubjectPublicKeyInfo of the joiner's node key (EC P-256 or P-384, its `nodeKey.curve`). */
  public_key: string;
  evidence: Evidence;
  /** `host:port` where clients and other nodes reach the joiner. */
  rpc_address: string;
  node_to_node_address: string;
};

export type JoinResponse =
  | { status: "Pending"; node_id: NodeId }
  | {
      status: "Trusted";
      node_id: NodeId;
      node_cert: string;
      service_cert: string;
      /** The voters before the first reconfiguration entry (the consensus core needs them to replay). */
      initial_configuration: NodeId[];
      nodes: NodeAddresses;
      /** JSON `{ service_key: PEM, ledger_secrets: [{ version, key: base64 }] }`, sealed to `public_key`. */
      secrets: Sealed;
    };

/** The plaintext sealed in `secrets`. */
export type JoinSecrets = { service_key: string; ledger_secrets: Array<{ version: number; key: string }> };

const ADDRESS = /^[A-Za-z0-9.:[\]-]{1,253}:\d{1,5}$/;

function invalid(message: string): CoterieError {
  return new CoterieError("COTERIE_ERR_INVALID_INPUT", `join request: ${message}`);
}

/** Checks the shape of a join request at the trust boundary. */
export function parseJoinRequest(value: unknown): JoinRequest {
  if (typeof value !== "object" || value === null) throw invalid("must be a JSON object");
  const v = value as Record<string, unknown>;
  if (typeof v.public_key !== "string" || !v.public_key.startsWith("-----BEGIN PUBLIC KEY-----")) {
    throw invalid("public_key must be a PEM public key");
  }
  for (const k of ["rpc_address", "node_to_node_address"] as const) {
    if (typeof v[k] !== "string" || !ADDRESS.test(v[k] as string)) throw invalid(`${k} must be host:port`);
  }
  if (typeof v.evidence !== "object" || v.evidence === null) throw invalid("evidence must be an object");
  return v as unknown as JoinRequest;
}
