/**
 * Member helpers: build, sign (COSE Sign1) and submit governance requests under `/gov/v1`.
 * Protected headers of every request: alg, kid (SHA-256 of the member certificate DER),
 * "coterie.gov.msg.type" (proposal | ballot | withdrawal | ack), "coterie.gov.msg.created_at"
 * (integer seconds) and, for ballots and withdrawals, "coterie.gov.msg.proposal_id".
 * Payloads (src/governance/requests.ts): a proposal is UTF-8 JSON `{"actions":[...]}`, a ballot the
 * UTF-8 JavaScript source of a module exporting `vote`,
 * a withdrawal empty, an ack `{"state_digest":"<hex>"}` as read from /gov/v1/members/state-digest.
 */
import { type CoseSigner, signCoseSign1 } from "../crypto/cose.ts";
import { isCoterieClientError } from "./errors.ts";
import type { HttpMethod, HttpResponse } from "./transport.ts";

export const GOV_MSG = {
  type: "coterie.gov.msg.type",
  createdAt: "coterie.gov.msg.created_at",
  proposalId: "coterie.gov.msg.proposal_id",
} as const;
export type GovMessageType = "proposal" | "ballot" | "withdrawal" | "ack";
export const COSE_CONTENT_TYPE = "application/cose";

/** One action of a proposal: its name in the constitution and its arguments. */
export type ProposalAction = { name: string; args?: Record<string, unknown> };
export type ProposalInfo = { proposal_id: string; state: string } & Record<string, unknown>;
export type AckResult = { member_id: string; status: string };

export type GovMessageOptions = { proposalId?: string; createdAtSeconds?: number };

/** Signs one governance request; exported for callers that submit it some other way. */
export async function signGovRequest(
  signer: CoseSigner,
  type: GovMessageType,
  payload: unknown,
  options: GovMessageOptions = {},
): Promise<Uint8Array> {
  const createdAt = options.createdAtSeconds ?? Math.floor(Date.now() / 1000);
  if (!Number.isSafeInteger(createdAt) || createdAt < 0)
    throw new RangeError("createdAtSeconds must be >= 0");
  const headers: Record<string, string | number> = { [GOV_MSG.type]: type, [GOV_MSG.createdAt]: createdAt };
  if (type === "ballot" || type === "withdrawal") {
    if (typeof options.proposalId !== "string" || options.proposalId.length === 0)
      throw new TypeError(`a ${type} needs the proposal id`);
    headers[GOV_MSG.proposalId] = options.proposalId;
  }
  const bytes = payloadBytes(payload);
  return signCoseSign1(signer, bytes, headers);
}

type Requester = (
  method: HttpMethod,
  path: string,
  body: unknown,
  opts?: { headers?: Record<string, string>; signal?: AbortSignal },
) => Promise<HttpResponse>;

const json = (res: HttpResponse): unknown =>
  res.body.length === 0 ? null : JSON.parse(new TextDecoder().decode(res.body));

/** The `gov` part of a client; `signer` may be absent for read-only use. */
export function createGovernance(request: Requester, signer: CoseSigner | undefined) {
  const needSigner = (): CoseSigner => {
    if (signer === undefined)
      throw new TypeError("governance requests need a signer (createClient({ signer }))");
    return signer;
  };
  const signed = async (path: string, type: GovMessageType, payload: unknown, proposalId?: string) => {
    const body = await signGovRequest(
      needSigner(),
      type,
      payload,
      proposalId === undefined ? {} : { proposalId },
    );
    return json(await request("POST", path, body, { headers: { "content-type": COSE_CONTENT_TYPE } }));
  };
  const id = (proposalId: string) => {
    if (!/^[A-Za-z0-9_-]{1,128}$/.test(proposalId)) throw new RangeError(`bad proposal id ${proposalId}`);
    return proposalId;
  };
  return {
    proposals: {
      create: (actions: ProposalAction[]) =>
        signed("/gov/v1/proposals", "proposal", { actions }) as Promise<ProposalInfo>,
      get: async (proposalId: string) =>
        json(await request("GET", `/gov/v1/proposals/${id(proposalId)}`, undefined)) as ProposalInfo,
      list: async () => json(await request("GET", "/gov/v1/proposals", undefined)),
      withdraw: (proposalId: string) =>
        signed(
          `/gov/v1/proposals/${id(proposalId)}/withdraw`,
          "withdrawal",
          undefined,
          proposalId,
        ) as Promise<ProposalInfo>,
    },
    ballots: {
      /** `ballotSource`: a JS module exporting `vote(proposal, proposerId)`, run by the constitution. */
      submit: (proposalId: string, ballotSource: string) =>
        signed(
          `/gov/v1/proposals/${id(proposalId)}/ballots`,
          "ballot",
          ballotSource,
          proposalId,
        ) as Promise<ProposalInfo>,
    },
    stateDigest: async () =>
      json(await request("GET", "/gov/v1/members/state-digest", undefined)) as { state_digest: string },
    /**
     * Acknowledges the state digest, which activates a newly added (Accepted) member. Reading the
     * digest needs the member's TLS certificate; without one (a browser key), pass `stateDigest`.
     */
    ack: async (options: { stateDigest?: string } = {}) => {
      needSigner();
      const digest =
        options.stateDigest ??
        (json(await request("GET", "/gov/v1/members/state-digest", undefined)) as { state_digest: string })
          .state_digest;
      try {
        return (await signed("/gov/v1/members/ack", "ack", { state_digest: digest })) as AckResult;
      } catch (error) {
        // The state changed between reading the digest and acking: the service refused the ack
        // (nothing was written) and named the current digest, so signing that one is not a retry
        // of an unknown outcome. Once only.
        const current = (error as { details?: { state_digest?: unknown } }).details?.state_digest;
        if (!isCoterieClientError(error) || error.code !== "COTERIE_ERR_GOV_STATE_DIGEST_MISMATCH")
          throw error;
        if (typeof current !== "string" || current === digest) throw error;
        return (await signed("/gov/v1/members/ack", "ack", { state_digest: current })) as AckResult;
      }
    },
  };
}

/** Bytes as given, a string as UTF-8 text, nothing as empty, anything else as JSON. */
function payloadBytes(payload: unknown): Uint8Array {
  if (payload === undefined) return new Uint8Array(0);
  if (payload instanceof Uint8Array) return payload;
  return new TextEncoder().encode(typeof payload === "string" ? payload : JSON.stringify(payload));
}

/** A ballot that votes for (or against) whatever it is asked. */
export function fixedBallot(approve: boolean): string {
  return `export function vote(proposal, proposerId) { return ${approve ? "true" : "false"}; }`;
}
