/**
 * Governance requests as COSE Sign1 messages (docs/governance.md, "Signed requests"). Browser-safe:
 * only src/crypto/cose.ts and WebCrypto, so the SDK and the CLI sign exactly what the node checks.
 *
 * Protected headers: alg (1), kid (4) = the 32 raw bytes of SHA-256(member certificate DER),
 * "coterie.gov.msg.type", "coterie.gov.msg.created_at" (integer seconds since the epoch) and, for
 * ballots and withdrawals, "coterie.gov.msg.proposal_id" (hex text).
 */
import { type CoseLabel, type CoseSigner, type CoseValue, signCoseSign1 } from "../crypto/cose.ts";
import { CoterieError } from "../util/errors.ts";

export const GOV_MSG_TYPE = "coterie.gov.msg.type";
export const GOV_MSG_CREATED_AT = "coterie.gov.msg.created_at";
export const GOV_MSG_PROPOSAL_ID = "coterie.gov.msg.proposal_id";
export const GOV_CONTENT_TYPE = "application/cose";

export const govMessageTypes = ["proposal", "ballot", "withdrawal", "ack", "recovery_share"] as const;
export type GovMessageType = (typeof govMessageTypes)[number];

/** The governance headers of a request, read from its protected header. */
export type GovHeaders = { type: GovMessageType; createdAt: number; proposalId: string | null };

const PROPOSAL_ID = /^[0-9a-f]{64}$/;

function malformed(message: string): never {
  throw new CoterieError("COTERIE_ERR_GOV_REQUEST_MALFORMED", message);
}

/**
 * Reads and checks the governance headers. The proposal id is required for ballots and
 * withdrawals and refused on other types, so one message cannot mean two things.
 * @throws CoterieError COTERIE_ERR_GOV_REQUEST_MALFORMED
 */
export function parseGovHeaders(protectedHeaders: ReadonlyMap<CoseLabel, CoseValue>): GovHeaders {
  const type = protectedHeaders.get(GOV_MSG_TYPE);
  if (typeof type !== "string" || !(govMessageTypes as readonly string[]).includes(type)) {
    malformed(`protected header ${GOV_MSG_TYPE} must be one of ${govMessageTypes.join(", ")}`);
  }
  const createdAt = protectedHeaders.get(GOV_MSG_CREATED_AT);
  if (typeof createdAt !== "number" || !Number.isSafeInteger(createdAt) || createdAt < 0) {
    malformed(`protected header ${GOV_MSG_CREATED_AT} must be an unsigned integer (seconds)`);
  }
  const proposalId = protectedHeaders.get(GOV_MSG_PROPOSAL_ID) ?? null;
  const needsId = type === "ballot" || type === "withdrawal";
  if (needsId && (typeof proposalId !== "string" || !PROPOSAL_ID.test(proposalId))) {
    malformed(`a ${type} needs protected header ${GOV_MSG_PROPOSAL_ID} (64 lowercase hex digits)`);
  }
  if (!needsId && proposalId !== null) malformed(`a ${type} must not carry ${GOV_MSG_PROPOSAL_ID}`);
  return { type: type as GovMessageType, createdAt, proposalId: proposalId as string | null };
}

export type SignGovRequestParameters = {
  signer: CoseSigner;
  type: GovMessageType;
  payload: Uint8Array | string;
  /** Seconds since the epoch; defaults to now. */
  createdAt?: number;
  proposalId?: string;
};

/**
 * Signs a governance request.
 * @example
 *   const body = await signGovRequest({ signer, type: "ballot", proposalId,
 *     payload: "export function vote() { return true; }" });
 */
export async function signGovRequest(p: SignGovRequestParameters): Promise<Uint8Array> {
  const headers = new Map<CoseLabel, CoseValue>([
    [GOV_MSG_TYPE, p.type],
    [GOV_MSG_CREATED_AT, p.createdAt ?? Math.floor(Date.now() / 1000)],
  ]);
  if (p.proposalId !== undefined) headers.set(GOV_MSG_PROPOSAL_ID, p.proposalId);
  const payload = typeof p.payload === "string" ? new TextEncoder().encode(p.payload) : p.payload;
  return signCoseSign1(p.signer, payload, headers);
}

/** The key of a signed request in `public:coterie.gov.requests.recent`: time first, for pruning. */
export function signedRequestKey(createdAt: number, digestHex: string): string {
  return `${String(createdAt).padStart(12, "0")}.${digestHex}`;
}
