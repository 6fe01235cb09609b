/**
 * Authentication policies, one authenticator each, in one table. An endpoint lists the policies
 * that admit a caller; the first that does wins, and if none does the request gets 401.
 *
 * The client certificate is parsed once per TLS connection (its id, the SHA-256 of the DER, is
 * cached on the socket); each request then looks the id up in the users or members table — through
 * a cache of verdicts that is emptied whenever either table changes — so a removed user is refused
 * on the next request of an open connection.
 *
 * To add a policy: extend `AuthPolicy` and `Caller` in src/app/types.ts, write its authenticator
 * in its own file, and add it to `authenticators` below (the type makes the table exhaustive).
 */
import type { IncomingMessage } from "node:http";
import type { TLSSocket } from "node:tls";
import type { AuthPolicy, AuthRequirement, Caller } from "../app/index.ts";
import { certificateId } from "../crypto/x509.ts";
import type { Store } from "../kv/index.ts";
import { memberCerts, memberInfo, userCerts, userInfo } from "../tables/identities.ts";
import { CoterieError } from "../util/errors.ts";
import { authenticateMemberCose } from "./auth-cose.ts";
import { jwtAuthenticator } from "./auth-jwt.ts";
import { userCoseAuthenticator } from "./auth-user-cose.ts";

const certIds = new WeakMap<TLSSocket, string | null>();

/** The caller's certificate id for this connection, computed on first use. */
export function peerCertificateId(socket: TLSSocket): string | null {
  let id = certIds.get(socket);
  if (id === undefined) {
    const cert = socket.getPeerX509Certificate();
    id = cert ? certificateId(cert.raw) : null;
    certIds.set(socket, id);
  }
  return id;
}

/** What an authenticator may look at. `tx` reads the latest state (read-only). */
export type AuthInput = {
  tx: ReturnType<Store["beginTx"]>;
  certId: string | null;
  req: IncomingMessage;
  body: Uint8Array;
};

/** Returns the caller when the policy admits the request, null when it does not apply. */
export type Authenticator = (input: AuthInput) => Caller | null;

/** Certificate ids remembered per cache before it starts over (clients may present any certificate). */
const CERT_VERDICTS_MAX = 4096;

/**
 * What a certificate policy decided for each certificate id, valid while the two maps it read are
 * unchanged: the cache is emptied as soon as either map's content token differs, so a user or
 * member removed by governance is refused on the very next request, as without the cache.
 */
class CertVerdicts {
  private certsToken: object | null = null;
  private infoToken: object | null = null;
  private readonly verdicts = new Map<string, { data: unknown } | null>();
  private readonly certsMap: string;
  private readonly infoMap: string;
  private readonly decide: (tx: AuthInput["tx"], certId: string) => { data: unknown } | null;

  constructor(
    certsMap: string,
    infoMap: string,
    decide: (tx: AuthInput["tx"], certId: string) => { data: unknown } | null,
  ) {
    this.certsMap = certsMap;
    this.infoMap = infoMap;
    this.decide = decide;
  }

  /** The caller's data if the certificate is registered, else null. */
  lookup(tx: AuthInput["tx"], certId: string): { data: unknown } | null {
    const certs = tx.contentToken(this.certsMap);
    const info = tx.contentToken(this.infoMap);
    if (certs !== this.certsToken || info !== this.infoToken || this.verdicts.size >= CERT_VERDICTS_MAX) {
      this.verdicts.clear();
      this.certsToken = certs;
      this.infoToken = info;
    }
    let verdict = this.verdicts.get(certId);
    if (verdict === undefined) {
      verdict = this.decide(tx, certId);
      this.verdicts.set(certId, verdict);
    }
    // Handlers get their own copy of the data: one request must not change what the next sees.
    if (verdict === null || verdict.data === null) return verdict;
    return { data: structuredClone(verdict.data) };
  }
}

const userVerdicts = new CertVerdicts(userCerts.name, userInfo.name, (tx, certId) =>
  userCerts.in(tx).has(certId) ? { data: userInfo.in(tx).get(certId)?.user_data ?? null } : null,
);
const memberVerdicts = new CertVerdicts(memberCerts.name, memberInfo.name, (tx, certId) =>
  memberCerts.in(tx).has(certId) ? { data: memberInfo.in(tx).get(certId)?.member_data ?? null } : null,
);

export const authenticators: Record<AuthPolicy, Authenticator> = {
  no_auth: () => ({ policy: "no_auth" }),
  user_cert: ({ tx, certId }) => {
    const verdict = certId === null ? null : userVerdicts.lookup(tx, certId);
    return verdict === null ? null : { policy: "user_cert", id: certId as string, data: verdict.data };
  },
  member_cert: ({ tx, certId }) => {
    const verdict = certId === null ? null : memberVerdicts.lookup(tx, certId);
    return verdict === null ? null : { policy: "member_cert", id: certId as string, data: verdict.data };
  },
  jwt: (input) => jwtAuthenticator(input),
  user_cose_sign1: (input) => userCoseAuthenticator(input),
  member_cose_sign1: (input) => authenticateMemberCose(input),
};

/** True iff the node has an authenticator for every policy `auth` names (checked when mounting). */
export function knowsPolicies(auth: readonly AuthRequirement[]): boolean {
  return auth.every((a) =>
    (typeof a === "string" ? [a] : a.all_of).every((p) => Object.hasOwn(authenticators, p)),
  );
}

function admit(requirement: AuthRequirement, input: AuthInput): Caller | null {
  if (typeof requirement === "string") return authenticators[requirement](input);
  const callers: Caller[] = [];
  for (const policy of requirement.all_of) {
    const caller = authenticators[policy](input);
    if (caller === null) return null;
    callers.push(caller);
  }
  return { policy: "all_of", callers };
}

/** Returns the first policy in `policies` that admits the caller, or throws 401. */
export function authenticate(
  store: Store,
  input: Omit<AuthInput, "tx">,
  policies: readonly AuthRequirement[],
): Caller {
  const tx = store.beginTx();
  for (const requirement of policies) {
    const caller = admit(requirement, { ...input, tx });
    if (caller !== null) return caller;
  }
  throw new CoterieError(
    "COTERIE_ERR_UNAUTHENTICATED",
    input.certId === null && policies.every((p) => typeof p === "string" && p.endsWith("_cert"))
      ? `this endpoint requires one of: ${policies.join(", ")}; no client certificate was presented`
      : `no credential presented is accepted by: ${policies.map(describe).join(", ")}`,
  );
}

function describe(requirement: AuthRequirement): string {
  return typeof requirement === "string" ? requirement : `all_of(${requirement.all_of.join(" + ")})`;
}
