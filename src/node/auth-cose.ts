/**
 * The `member_cose_sign1` policy: a governance request whose body is a COSE Sign1 message
 * (`content-type: application/cose`) signed by a member. Checked here, before the handler runs:
 * the kid names a member, the signature verifies under that member's certificate (alg matching
 * its curve), the governance headers are well formed, `created_at` is within the window around
 * node time (default ±300 s, `gov_request_window_s` in the service configuration), and the same
 * message was not accepted before. The handler records the message in the same transaction that
 * acts on it, re-checking the replay so two concurrent copies cannot both commit.
 */
import { createPublicKey, type KeyObject, X509Certificate } from "node:crypto";
import type { Caller } from "../app/types.ts";
import { COSE_ALG, decodeCoseSign1, sigStructure } from "../crypto/cose.ts";
import { sha256Hex } from "../crypto/hash.ts";
import { curveOf, verifyP1363 } from "../crypto/keys.ts";
import { GOV_CONTENT_TYPE, parseGovHeaders, signedRequestKey } from "../governance/index.ts";
import { signedRequests } from "../tables/governance.ts";
import { memberCerts, memberInfo } from "../tables/identities.ts";
import { serviceConfiguration } from "../tables/service.ts";
import { CoterieError } from "../util/errors.ts";
import type { AuthInput } from "./auth.ts";

export const GOV_REQUEST_WINDOW_S_DEFAULT = 300;
const KEYS_CACHED_MAX = 1024;
const keys = new Map<string, KeyObject>();

function publicKeyOf(certPem: string): KeyObject {
  let key = keys.get(certPem);
  if (key === undefined) {
    key = createPublicKey(new X509Certificate(certPem).publicKey.export({ type: "spki", format: "pem" }));
    if (keys.size >= KEYS_CACHED_MAX) keys.clear();
    keys.set(certPem, key);
  }
  return key;
}

/** The freshness window in seconds: the governed setting, or the default. */
export function requestWindowS(tx: AuthInput["tx"]): number {
  const config = serviceConfiguration.in(tx).get("config") as { gov_request_window_s?: unknown } | undefined;
  const w = config?.gov_request_window_s;
  return typeof w === "number" && Number.isInteger(w) && w > 0 ? w : GOV_REQUEST_WINDOW_S_DEFAULT;
}

function isCose(input: AuthInput): boolean {
  const type = input.req.headers["content-type"];
  return typeof type === "string" && type.split(";")[0]?.trim().toLowerCase() === GOV_CONTENT_TYPE;
}

/** Returns the member caller, null when the request is not COSE or the kid names no member. */
export function authenticateMemberCose(input: AuthInput, nowMs: number = Date.now()): Caller | null {
  if (!isCose(input)) return null;
  const decoded = decodeCoseSign1(input.body);
  if (decoded.kid === null || decoded.kid.length !== 32) return null;
  const memberId = Buffer.from(decoded.kid).toString("hex");
  const cert = memberCerts.in(input.tx).get(memberId);
  if (cert === undefined) return null;
  const key = publicKeyOf(cert);
  const expected = decoded.alg === COSE_ALG.ES256 ? "P-256" : "P-384";
  if (curveOf(key) !== expected) {
    throw new CoterieError(
      "COTERIE_ERR_COSE_UNSUPPORTED_ALG",
      `alg ${decoded.alg} needs a ${expected} member key`,
    );
  }
  if (decoded.payload === null) {
    throw new CoterieError("COTERIE_ERR_GOV_REQUEST_MALFORMED", "governance requests carry their payload");
  }
  const toBeSigned = sigStructure(decoded.protectedBytes, new Uint8Array(0), decoded.payload);
  if (!verifyP1363(key, toBeSigned, decoded.signature)) {
    throw new CoterieError(
      "COTERIE_ERR_COSE_BAD_SIGNATURE",
      "the signature does not verify under the member's certificate",
    );
  }
  const headers = parseGovHeaders(decoded.protectedHeaders);
  const nowS = Math.floor(nowMs / 1000);
  const windowS = requestWindowS(input.tx);
  if (Math.abs(nowS - headers.createdAt) > windowS) {
    throw new CoterieError(
      "COTERIE_ERR_GOV_REQUEST_STALE",
      `created_at is more than ${windowS} s from the node's time`,
      {
        details: { created_at: headers.createdAt, node_time: nowS, window_s: windowS },
      },
    );
  }
  const digest = sha256Hex(input.body);
  if (signedRequests.in(input.tx).has(signedRequestKey(headers.createdAt, digest))) {
    throw new CoterieError("COTERIE_ERR_GOV_REQUEST_REPLAYED", "this signed request was already accepted");
  }
  return {
    policy: "member_cose_sign1",
    id: memberId,
    data: memberInfo.in(input.tx).get(memberId)?.member_data ?? null,
    request: {
      type: headers.type,
      createdAt: headers.createdAt,
      proposalId: headers.proposalId,
      payload: decoded.payload,
      bytes: input.body,
      digest,
    },
  };
}
