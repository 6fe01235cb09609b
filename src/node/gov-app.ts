/**
 * The governance API, mounted at `/gov` (docs/governance.md, "API"). Signed writes take a COSE
 * Sign1 body (`member_cose_sign1`, checked in auth-cose.ts) and run the state machine of
 * src/governance in the request's transaction; reads show the public governance tables. The
 * OpenAPI description is generated from this endpoint list.
 *
 * Handlers of readwrite endpoints are synchronous on purpose: nothing awaits between the
 * transaction's start and its commit, so the seqno context (`tx.readVersion`, recorded with the
 * proposal and hashed into its id) is the seqno just before the proposal's own.
 */
import type { App, Caller, CoseSignedRequest, Endpoint, HandlerContext } from "../app/types.ts";
import {
  acknowledgeState,
  type ConstitutionRuntime,
  type GovContext,
  openApiDocument,
  proposalView,
  stateDigest,
  submitBallot,
  submitProposal,
  type VerifiedRequest,
  withdrawProposal,
} from "../governance/index.ts";
import type { Tx } from "../kv/index.ts";
import { joinRefusals } from "../tables/attestation.ts";
import {
  CONSTITUTION_KEY,
  constitutionTable,
  proposalsInfo,
  type SignedRequestType,
} from "../tables/governance.ts";
import { memberCerts, memberInfo, nodeInfo, userCerts, userInfo } from "../tables/identities.ts";
import { SERVICE_INFO_KEY, serviceConfiguration, serviceInfo } from "../tables/service.ts";
import { CoterieError } from "../util/errors.ts";
import { requestWindowS } from "./auth-cose.ts";

/** Rows returned by one list call. */
export const GOV_LIST_MAX = 1000;

function signed(caller: Caller): { memberId: string; request: CoseSignedRequest } {
  if (caller.policy !== "member_cose_sign1") {
    throw new CoterieError(
      "COTERIE_ERR_UNAUTHENTICATED",
      "this endpoint takes a member's COSE Sign1 request",
    );
  }
  return { memberId: caller.id, request: caller.request };
}

function verified(caller: Caller): VerifiedRequest {
  const { memberId, request } = signed(caller);
  return { memberId, ...request, type: request.type as SignedRequestType };
}

function list<V>(
  tx: Tx,
  table: { in(tx: Tx): { forEach(fn: (k: string, v: V) => unknown): void } },
  row: (k: string, v: V) => unknown,
) {
  const out: unknown[] = [];
  // biome-ignore lint/suspicious/useIterableCallbackReturn: TypedMap.forEach stops when the callback returns false
  table.in(tx).forEach((k, v) => {
    out.push(row(k, v));
    return out.length < GOV_LIST_MAX;
  });
  return out;
}

export function createGovernanceApp(runtime: ConstitutionRuntime): App {
  const ctxOf = (tx: Tx): GovContext => ({
    runtime,
    seqnoContext: tx.readVersion,
    nowS: Math.floor(Date.now() / 1000),
    windowS: requestWindowS(tx),
  });
  const write =
    (fn: (ctx: HandlerContext, gov: GovContext, req: VerifiedRequest) => unknown): Endpoint["handler"] =>
    (ctx) => {
      const req = verified(ctx.caller);
      const body = fn(ctx, ctxOf(ctx.tx), req);
      return (transactionId: string) => ({ body: { ...(body as object), transaction_id: transactionId } });
    };
  const cose = ["member_cose_sign1"] as const;
  const open = ["no_auth"] as const;
  const endpoints: Endpoint[] = [
    {
      method: "POST",
      path: "/v1/proposals",
      auth: cose,
      mode: "readwrite",
      summary: "Submit a proposal (COSE msg type proposal; payload { actions: [ { name, args } ] }).",
      handler: write(({ tx }, gov, req) => proposalView(tx, submitProposal(tx, req, gov))),
    },
    {
      method: "POST",
      path: "/v1/proposals/{proposal_id}/ballots",
      auth: cose,
      mode: "readwrite",
      summary:
        "Submit or replace a ballot (COSE msg type ballot; payload: a module exporting vote(proposal, proposerId)).",
      handler: write(({ tx, request }, gov, req) => {
        const id = request.params.proposal_id as string;
        submitBallot(tx, id, req, gov);
        return proposalView(tx, id);
      }),
    },
    {
      method: "POST",
      path: "/v1/proposals/{proposal_id}/withdraw",
      auth: cose,
      mode: "readwrite",
      summary: "Withdraw an Open proposal (COSE msg type withdrawal; the proposer only).",
      handler: write(({ tx, request }, gov, req) => {
        const id = request.params.proposal_id as string;
        withdrawProposal(tx, id, req, gov);
        return proposalView(tx, id);
      }),
    },
    {
      method: "POST",
      path: "/v1/members/ack",
      auth: cose,
      mode: "readwrite",
      summary:
        'Acknowledge the state digest (COSE msg type ack; payload { "state_digest": hex }); Accepted → Active.',
      handler: write(({ tx }, gov, req) => {
        acknowledgeState(tx, req, gov);
        return { member_id: req.memberId, status: memberInfo.in(tx).get(req.memberId)?.status };
      }),
    },
    {
      method: "GET",
      path: "/v1/members/state-digest",
      auth: ["member_cert"],
      mode: "readonly",
      summary: "The state digest a member acknowledges.",
      handler: ({ tx }) => ({ body: { state_digest: stateDigest(tx) } }),
    },
    {
      method: "GET",
      path: "/v1/proposals",
      auth: open,
      mode: "readonly",
      summary: "Proposals: id, proposer and state (optionally ?state=Open).",
      handler: ({ tx, request }) => {
        const state = request.query.get("state");
        const rows = list(tx, proposalsInfo, (id, v) => ({
          proposal_id: id,
          proposer_id: v.proposer_id,
          state: v.state,
        }));
        return {
          body: { proposals: state ? rows.filter((r) => (r as { state: string }).state === state) : rows },
        };
      },
    },
    {
      method: "GET",
      path: "/v1/proposals/{proposal_id}",
      auth: open,
      mode: "readonly",
      summary: "One proposal: state, actions, ballots by member id, final votes, failure reason.",
      handler: ({ tx, request }) => ({ body: proposalView(tx, request.params.proposal_id as string) }),
    },
    {
      method: "GET",
      path: "/v1/members",
      auth: open,
      mode: "readonly",
      summary: "Members: certificate, status, data.",
      handler: ({ tx }) => ({
        body: {
          members: list(tx, memberInfo, (id, info) => ({
            member_id: id,
            cert: memberCerts.in(tx).get(id),
            ...info,
          })),
        },
      }),
    },
    {
      method: "GET",
      path: "/v1/users",
      auth: open,
      mode: "readonly",
      summary: "Users: certificate and data.",
      handler: ({ tx }) => ({
        body: {
          users: list(tx, userInfo, (id, info) => ({ user_id: id, cert: userCerts.in(tx).get(id), ...info })),
        },
      }),
    },
    {
      method: "GET",
      path: "/v1/nodes",
      auth: open,
      mode: "readonly",
      summary: "Nodes: status, addresses, platform; joins refused on attestation, with the reason.",
      handler: ({ tx }) => ({
        body: {
          nodes: list(tx, nodeInfo, (id, info) => ({ node_id: id, ...info })),
          join_refusals: list(tx, joinRefusals, (key_id, refusal) => ({ key_id, ...refusal })),
        },
      }),
    },
    {
      method: "GET",
      path: "/v1/constitution",
      auth: open,
      mode: "readonly",
      summary: "The constitution's source.",
      handler: ({ tx }) => ({
        body: { constitution: constitutionTable.in(tx).get(CONSTITUTION_KEY) ?? null },
      }),
    },
    {
      method: "GET",
      path: "/v1/service",
      auth: open,
      mode: "readonly",
      summary: "Service status, certificate and configuration.",
      handler: ({ tx }) => ({
        body: {
          ...serviceInfo.in(tx).get(SERVICE_INFO_KEY),
          configuration: serviceConfiguration.in(tx).get("config") ?? null,
        },
      }),
    },
  ];
  const routes = [
    ...endpoints,
    { method: "GET", path: "/v1/openapi.json", auth: open, summary: "This description." },
  ].map((e) => ({
    method: e.method,
    path: `/gov${e.path}`,
    summary: e.summary ?? "",
    auth: e.auth as readonly string[],
  }));
  const document = openApiDocument(routes);
  endpoints.push({
    method: "GET",
    path: "/v1/openapi.json",
    auth: open,
    mode: "readonly",
    summary: "This description.",
    handler: () => ({ body: document }),
  });
  return { name: "governance", endpoints };
}
