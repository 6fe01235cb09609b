/**
 * The governance state machine, shared by the node (inside a request's transaction) and by
 * `gov audit` (against state replayed from the ledger), so an outcome is recomputed by the very
 * code that produced it. Nothing here reads a clock or the network: time and the seqno context
 * come in through `GovContext`.
 *
 * States: Open → Accepted | Rejected | Failed (by resolution), Open → Withdrawn (by its proposer),
 * Open → Dropped (another proposal changed the constitution). Only Open changes.
 */
import { sha256Hex } from "../crypto/hash.ts";
import type { Tx } from "../kv/index.ts";
import {
  CONSTITUTION_KEY,
  constitutionTable,
  type GovFailure,
  memberAcks,
  openProposals,
  type Proposal,
  type ProposalInfo,
  proposals,
  proposalsInfo,
  type SignedRequestType,
  signedRequests,
} from "../tables/governance.ts";
import { memberInfo } from "../tables/identities.ts";
import { assert } from "../util/assert.ts";
import { CoterieError } from "../util/errors.ts";
import { GovKv } from "./kv-access.ts";
import { signedRequestKey } from "./messages.ts";
import type { ConstitutionRuntime, Vote } from "./runtime.ts";
import { stateDigest } from "./state-digest.ts";

/** A signed request whose signature, signer and freshness were checked by the caller. */
export type VerifiedRequest = {
  memberId: string;
  type: SignedRequestType;
  createdAt: number;
  proposalId: string | null;
  payload: Uint8Array;
  bytes: Uint8Array;
  /** Hex SHA-256 of `bytes`. */
  digest: string;
};

export type GovContext = {
  runtime: ConstitutionRuntime;
  /** The seqno the transaction reads at (the node: `tx.readVersion`; the audit: entry seqno - 1). */
  seqnoContext: number;
  /** Node time in seconds, only for pruning old request records. */
  nowS: number;
  windowS: number;
};

export const ACTIONS_MAX = 64;
/** Old request records deleted per request; bounds the work a request does. */
export const PRUNE_PER_REQUEST_MAX = 32;

/** The proposal id: hex SHA-256(COSE bytes ‖ seqno context as 8 bytes big-endian). */
export function proposalIdOf(coseBytes: Uint8Array, seqnoContext: number): string {
  assert(Number.isSafeInteger(seqnoContext) && seqnoContext >= 0, "seqno context is a seqno");
  const context = new Uint8Array(8);
  new DataView(context.buffer).setBigUint64(0, BigInt(seqnoContext));
  return sha256Hex(coseBytes, context);
}

/** Refuses a replay, records the request (the ledger keeps it), prunes records out of the window. */
export function recordRequest(tx: Tx, req: VerifiedRequest, ctx: GovContext): void {
  const key = signedRequestKey(req.createdAt, req.digest);
  const table = signedRequests.in(tx);
  if (table.has(key)) {
    throw new CoterieError("COTERIE_ERR_GOV_REQUEST_REPLAYED", "this signed request was already accepted");
  }
  const stale = signedRequestKey(Math.max(0, ctx.nowS - ctx.windowS), "");
  const old = table.range({ to: stale, limit: PRUNE_PER_REQUEST_MAX });
  for (const [k] of old.entries) table.delete(k);
  table.put(key, {
    member_id: req.memberId,
    type: req.type,
    created_at: req.createdAt,
    ...(req.proposalId === null ? {} : { proposal_id: req.proposalId }),
    cose: Buffer.from(req.bytes).toString("base64"),
  });
}

function requireActive(tx: Tx, memberId: string): void {
  if (memberInfo.in(tx).get(memberId)?.status !== "Active") {
    throw new CoterieError(
      "COTERIE_ERR_GOV_MEMBER_NOT_ACTIVE",
      "acknowledge the state digest first (POST /gov/v1/members/ack)",
    );
  }
}

function requireType(req: VerifiedRequest, type: SignedRequestType, proposalId: string | null): void {
  if (req.type !== type) {
    throw new CoterieError(
      "COTERIE_ERR_GOV_WRONG_MESSAGE_TYPE",
      `expected a ${type} message, got ${req.type}`,
    );
  }
  if (proposalId !== null && req.proposalId !== proposalId) {
    throw new CoterieError(
      "COTERIE_ERR_GOV_WRONG_MESSAGE_TYPE",
      "the signed proposal id is not the one in the path",
    );
  }
}

function constitutionSource(tx: Tx): string {
  const source = constitutionTable.in(tx).get(CONSTITUTION_KEY);
  if (source === undefined) throw new CoterieError("COTERIE_ERR_INTERNAL", "no constitution is set");
  return source;
}

/** Parses `{ "actions": [ { "name", "args" } ] }` strictly. */
export function parseProposal(payload: Uint8Array): Proposal {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(payload));
  } catch {
    throw new CoterieError("COTERIE_ERR_GOV_REQUEST_MALFORMED", "a proposal payload is UTF-8 JSON");
  }
  const bad = (why: string) => new CoterieError("COTERIE_ERR_GOV_REQUEST_MALFORMED", `proposal: ${why}`);
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw bad("must be an object");
  const { actions, ...rest } = value as { actions?: unknown };
  if (Object.keys(rest).length > 0) throw bad(`unknown fields ${Object.keys(rest).join(", ")}`);
  if (!Array.isArray(actions) || actions.length === 0) throw bad("actions must be a non-empty array");
  if (actions.length > ACTIONS_MAX) throw bad(`at most ${ACTIONS_MAX} actions`);
  for (const a of actions) {
    if (typeof a !== "object" || a === null || typeof (a as { name?: unknown }).name !== "string") {
      throw bad("each action is { name: string, args?: any }");
    }
    const extra = Object.keys(a).filter((k) => k !== "name" && k !== "args");
    if (extra.length > 0) throw bad(`unknown action fields ${extra.join(", ")}`);
  }
  return { actions: actions as Proposal["actions"] };
}

/** POST /gov/v1/proposals: validate, record as Open, resolve at once (a lone member may suffice). */
export function submitProposal(tx: Tx, req: VerifiedRequest, ctx: GovContext): string {
  requireType(req, "proposal", null);
  requireActive(tx, req.memberId);
  const proposal = parseProposal(req.payload);
  const verdict = ctx.runtime.validate(new GovKv(tx, false), constitutionSource(tx), proposal);
  if (!verdict.valid) {
    throw new CoterieError(
      "COTERIE_ERR_GOV_PROPOSAL_INVALID",
      verdict.description || "the constitution refused it",
    );
  }
  checkOpenLimits(tx, req.memberId);
  recordRequest(tx, req, ctx);
  const id = proposalIdOf(req.bytes, ctx.seqnoContext);
  assert(!proposalsInfo.in(tx).has(id), "a proposal id is new (its request is not a replay)");
  proposals.in(tx).put(id, proposal);
  openProposals.in(tx).put(id, { proposer_id: req.memberId });
  proposalsInfo.in(tx).put(id, {
    proposer_id: req.memberId,
    state: "Open",
    seqno_context: ctx.seqnoContext,
    ballots: {},
  });
  resolveProposal(tx, id, ctx);
  return id;
}

function openProposal(tx: Tx, id: string): ProposalInfo {
  const info = proposalsInfo.in(tx).get(id);
  if (info === undefined) throw new CoterieError("COTERIE_ERR_GOV_PROPOSAL_NOT_FOUND", `no proposal ${id}`);
  if (info.state !== "Open") {
    throw new CoterieError("COTERIE_ERR_GOV_PROPOSAL_NOT_OPEN", `proposal ${id} is ${info.state}`);
  }
  return info;
}

/** POST /gov/v1/proposals/{id}/ballots: a member's ballot replaces its earlier one while Open. */
export function submitBallot(tx: Tx, id: string, req: VerifiedRequest, ctx: GovContext): void {
  requireType(req, "ballot", id);
  requireActive(tx, req.memberId);
  const info = openProposal(tx, id);
  const source = new TextDecoder().decode(req.payload);
  ctx.runtime.checkBallot(source);
  recordRequest(tx, req, ctx);
  proposalsInfo.in(tx).put(id, { ...info, ballots: { ...info.ballots, [req.memberId]: source } });
  resolveProposal(tx, id, ctx);
}

/** POST /gov/v1/proposals/{id}/withdraw: only the proposer, only while Open. */
export function withdrawProposal(tx: Tx, id: string, req: VerifiedRequest, ctx: GovContext): void {
  requireType(req, "withdrawal", id);
  requireActive(tx, req.memberId);
  const info = openProposal(tx, id);
  if (info.proposer_id !== req.memberId) {
    throw new CoterieError("COTERIE_ERR_GOV_NOT_PROPOSER", "only the proposer may withdraw a proposal");
  }
  recordRequest(tx, req, ctx);
  proposalsInfo.in(tx).put(id, { ...info, state: "Withdrawn" });
  openProposals.in(tx).delete(id);
}

/** POST /gov/v1/members/ack: an Accepted member acknowledging the current digest becomes Active. */
export function acknowledgeState(tx: Tx, req: VerifiedRequest, ctx: GovContext): void {
  requireType(req, "ack", null);
  let digest: unknown;
  try {
    digest = (JSON.parse(new TextDecoder().decode(req.payload)) as { state_digest?: unknown }).state_digest;
  } catch {
    throw new CoterieError("COTERIE_ERR_GOV_REQUEST_MALFORMED", 'an ack payload is { "state_digest": hex }');
  }
  const current = stateDigest(tx);
  if (digest !== current) {
    throw new CoterieError(
      "COTERIE_ERR_GOV_STATE_DIGEST_MISMATCH",
      "the state digest changed; fetch it again",
      {
        details: { state_digest: current },
      },
    );
  }
  const info = memberInfo.in(tx).get(req.memberId);
  assert(info !== undefined, "an authenticated member has a record");
  recordRequest(tx, req, ctx);
  memberAcks.in(tx).put(req.memberId, { state_digest: current, seqno_context: ctx.seqnoContext });
  if (info.status === "Accepted") memberInfo.in(tx).put(req.memberId, { ...info, status: "Active" });
}

function failureOf(error: unknown): GovFailure {
  if (error instanceof CoterieError) return { code: error.code, message: error.message };
  throw error;
}

/** Runs every ballot against the current state; a ballot that fails is recorded, not counted. */
function countVotes(tx: Tx, info: ProposalInfo, proposal: Proposal, ctx: GovContext) {
  const votes: Vote[] = [];
  const failures: Record<string, GovFailure> = {};
  const kv = new GovKv(tx, false);
  for (const memberId of Object.keys(info.ballots).sort()) {
    try {
      votes.push({
        member_id: memberId,
        vote: ctx.runtime.vote(kv, info.ballots[memberId] as string, proposal, info.proposer_id),
      });
    } catch (error) {
      failures[memberId] = failureOf(error);
    }
  }
  return { votes, failures };
}

/**
 * Re-evaluates an Open proposal: ballots, then `resolve`, then on Accepted `apply`. A constitution
 * that throws or hits a limit fails the proposal with that error and writes nothing else.
 */
export function resolveProposal(tx: Tx, id: string, ctx: GovContext): ProposalInfo {
  const info = openProposal(tx, id);
  const proposal = proposals.in(tx).get(id);
  assert(proposal !== undefined, "an Open proposal has its actions");
  const source = constitutionSource(tx);
  const { votes, failures } = countVotes(tx, info, proposal, ctx);
  const next: ProposalInfo = {
    ...info,
    final_votes: Object.fromEntries(votes.map((v) => [v.member_id, v.vote])),
  };
  if (Object.keys(failures).length > 0) next.vote_failures = failures;
  else delete next.vote_failures;
  try {
    const resolution = ctx.runtime.resolve(new GovKv(tx, false), source, proposal, info.proposer_id, votes);
    if (resolution === "Accepted") {
      const kv = new GovKv(tx, true);
      ctx.runtime.apply(kv, source, proposal, id);
      kv.flush();
    }
    next.state = resolution;
  } catch (error) {
    next.state = "Failed";
    next.failure = failureOf(error);
  }
  proposalsInfo.in(tx).put(id, next);
  if (next.state !== "Open") openProposals.in(tx).delete(id);
  if (next.state === "Accepted" && constitutionSource(tx) !== source) dropOpenProposals(tx);
  return next;
}

/** The constitution changed: every other Open proposal was made under the old rules. */
function dropOpenProposals(tx: Tx): void {
  const open: string[] = [];
  openProposals.in(tx).forEach((id) => {
    open.push(id);
  });
  for (const id of open) {
    const info = proposalsInfo.in(tx).get(id);
    assert(info?.state === "Open", "the open index lists only Open proposals");
    proposalsInfo.in(tx).put(id, { ...info, state: "Dropped" });
    openProposals.in(tx).delete(id);
  }
}

/** Open proposals per member, and in all: bounds the state and the work of a constitution change. */
export const OPEN_PROPOSALS_PER_MEMBER_MAX = 16;
export const OPEN_PROPOSALS_MAX = 256;

function checkOpenLimits(tx: Tx, memberId: string): void {
  let total = 0;
  let mine = 0;
  openProposals.in(tx).forEach((_id, open) => {
    total++;
    if (open.proposer_id === memberId) mine++;
  });
  if (mine >= OPEN_PROPOSALS_PER_MEMBER_MAX || total >= OPEN_PROPOSALS_MAX) {
    throw new CoterieError(
      "COTERIE_ERR_TOO_MANY_REQUESTS",
      `too many Open proposals (${mine} of yours, ${total} in all; at most ${OPEN_PROPOSALS_PER_MEMBER_MAX} and ${OPEN_PROPOSALS_MAX}); withdraw or resolve some first`,
    );
  }
}
