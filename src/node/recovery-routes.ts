/**
 * The recovery endpoints, mounted under `/gov` beside the governance app:
 *   POST /gov/v1/recovery/shares            a member's decrypted share (COSE msg type recovery_share,
 *                                           payload {"share": base64}); accepted only while the
 *                                           recovered service is Open by vote and awaiting shares
 *   GET  /gov/v1/recovery                   status, threshold, shares accepted so far
 *   GET  /gov/v1/recovery/shares/{member_id} the member's encrypted share (public in the ledger)
 * A share is checked against the digest recorded when it was issued, so a wrong share is refused
 * at once and never counted; a member's second share is refused. Accepted shares are kept in
 * memory only (never written); the ledger records the signed request (who submitted, when). At
 * the threshold the private state is restored in the background (recovery-restore.ts).
 */
import type { App, Caller } from "../app/types.ts";
import type { ConstitutionRuntime, GovContext, VerifiedRequest } from "../governance/index.ts";
import { recordRequest } from "../governance/index.ts";
import type { SignedRequestType } from "../tables/governance.ts";
import {
  RECOVERY_STATE_KEY,
  recoveryShares,
  recoveryState,
  WRAPPED_SECRET_KEY,
  wrappedSecret,
} from "../tables/secrets.ts";
import { SERVICE_INFO_KEY, serviceInfo } from "../tables/service.ts";
import { CoterieError } from "../util/errors.ts";
import { requestWindowS } from "./auth-cose.ts";
import { shareDigest } from "./recovery-shares.ts";

/** Bytes of a share: a 32-byte wrapping key plus the x-coordinate. */
const SHARE_BYTES = 33;

export type ShareCollector = {
  /** Called once per accepted share, after its transaction committed. */
  accept(memberId: string, share: Uint8Array, threshold: number): void;
  has(memberId: string): boolean;
  count(): number;
};

function parseShare(payload: Uint8Array): Uint8Array {
  let share: unknown;
  try {
    share = (JSON.parse(Buffer.from(payload).toString("utf8")) as { share?: unknown }).share;
  } catch {
    share = undefined;
  }
  const bytes = typeof share === "string" ? Buffer.from(share, "base64") : null;
  if (bytes === null || bytes.length !== SHARE_BYTES)
    throw new CoterieError(
      "COTERIE_ERR_INVALID_INPUT",
      `payload must be {"share": base64 of ${SHARE_BYTES} bytes}`,
    );
  return bytes;
}

function memberRequest(caller: Caller): VerifiedRequest {
  if (caller.policy !== "member_cose_sign1" || caller.request.type !== "recovery_share")
    throw new CoterieError("COTERIE_ERR_UNAUTHENTICATED", "this endpoint takes a COSE Sign1 recovery_share");
  return { memberId: caller.id, ...caller.request, type: caller.request.type as SignedRequestType };
}

export function createRecoveryApp(collector: ShareCollector, runtime: ConstitutionRuntime): App {
  const contextOf = (tx: Parameters<typeof requestWindowS>[0]): GovContext => ({
    runtime,
    seqnoContext: tx.readVersion,
    nowS: Math.floor(Date.now() / 1000),
    windowS: requestWindowS(tx),
  });
  return {
    name: "recovery",
    endpoints: [
      {
        method: "POST",
        path: "/v1/recovery/shares",
        auth: ["member_cose_sign1"],
        mode: "readwrite",
        summary: "Submit a decrypted recovery share (COSE msg type recovery_share; payload {share: base64}).",
        handler: ({ tx, caller }) => {
          const req = memberRequest(caller);
          const state = recoveryState.in(tx).get(RECOVERY_STATE_KEY);
          if (state?.status !== "AwaitingShares")
            throw new CoterieError(
              "COTERIE_ERR_RECOVERY_NOT_RECOVERING",
              "the service is not waiting for shares",
            );
          if (serviceInfo.in(tx).get(SERVICE_INFO_KEY)?.status !== "Open")
            throw new CoterieError("COTERIE_ERR_RECOVERY_NOT_OPEN", "open the service by vote first");
          const issued = recoveryShares.in(tx).get(req.memberId);
          const wrapped = wrappedSecret.in(tx).get(WRAPPED_SECRET_KEY);
          if (issued === undefined || wrapped === undefined || !wrapped.members.includes(req.memberId))
            throw new CoterieError("COTERIE_ERR_RECOVERY_NOT_A_PARTICIPANT", "this member holds no share");
          const share = parseShare(req.payload);
          if (shareDigest(req.memberId, share) !== issued.share_digest)
            throw new CoterieError(
              "COTERIE_ERR_RECOVERY_WRONG_SHARE",
              "this is not the share issued to this member",
            );
          // Accepted shares live in memory only (lost with a restart, then taken again); the signed
          // request recorded below is the ledger's trace. Even two racing copies count once (a Map).
          if (collector.has(req.memberId))
            throw new CoterieError(
              "COTERIE_ERR_RECOVERY_DUPLICATE_SHARE",
              "this member's share was already accepted",
            );
          recordRequest(tx, req, contextOf(tx));
          return (transactionId: string) => {
            collector.accept(req.memberId, share, wrapped.threshold);
            const body = {
              accepted: collector.count(),
              threshold: wrapped.threshold,
              transaction_id: transactionId,
            };
            return { body };
          };
        },
      },
      {
        method: "GET",
        path: "/v1/recovery",
        auth: ["no_auth"],
        mode: "readonly",
        summary: "Recovery status: state, threshold, shares accepted so far.",
        handler: ({ tx }) => ({
          body: {
            state: recoveryState.in(tx).get(RECOVERY_STATE_KEY) ?? null,
            threshold: wrappedSecret.in(tx).get(WRAPPED_SECRET_KEY)?.threshold ?? null,
            accepted: collector.count(),
          },
        }),
      },
      {
        method: "GET",
        path: "/v1/recovery/shares/{member_id}",
        auth: ["no_auth"],
        mode: "readonly",
        summary: "A member's encrypted recovery share.",
        handler: ({ tx, request }) => {
          const record = recoveryShares.in(tx).get(request.params.member_id as string);
          if (record === undefined)
            throw new CoterieError("COTERIE_ERR_NOT_FOUND", "no share for this member");
          return { body: record };
        },
      },
    ],
  };
}

/** Holds accepted shares in memory; calls `onThreshold` once, with the shares, when enough arrived. */
export function createShareCollector(onThreshold: (shares: Uint8Array[]) => void): ShareCollector {
  const shares = new Map<string, Uint8Array>();
  let fired = false;
  return {
    accept(memberId, share, threshold) {
      shares.set(memberId, share);
      if (fired || shares.size < threshold) return;
      fired = true;
      onThreshold([...shares.values()]);
      shares.clear();
    },
    has: (memberId) => shares.has(memberId),
    count: () => shares.size,
  };
}
