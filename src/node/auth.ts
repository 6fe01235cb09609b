/**
 * Authentication policies. The client certificate is parsed once per TLS connection (its id, the
 * SHA-256 of the DER, is cached on the socket); each request then only looks the id up in the
 * users or members table, so a removed user is refused on the next request of an open connection.
 */
import type { TLSSocket } from "node:tls";
import type { AuthPolicy, Caller } from "../app/index.ts";
import { certificateId } from "../crypto/x509.ts";
import type { Store } from "../kv/index.ts";
import { memberCerts, memberInfo, userCerts, userInfo } from "../tables/identities.ts";
import { CoterieError } from "../util/errors.ts";

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

/** Returns the first policy in `policies` that admits the caller, or throws 401. */
export function authenticate(store: Store, certId: string | null, policies: readonly AuthPolicy[]): Caller {
  let tx: ReturnType<Store["beginTx"]> | null = null;
  for (const policy of policies) {
    if (policy === "no_auth") return { policy };
    if (certId === null) continue;
    tx ??= store.beginTx();
    if (policy === "user_cert" && userCerts.in(tx).has(certId)) {
      return { policy, id: certId, data: userInfo.in(tx).get(certId)?.user_data ?? null };
    }
    if (policy === "member_cert" && memberCerts.in(tx).has(certId)) {
      return { policy, id: certId, data: memberInfo.in(tx).get(certId)?.member_data ?? null };
    }
  }
  throw new CoterieError(
    "COTERIE_ERR_UNAUTHENTICATED",
    certId === null
      ? `this endpoint requires one of: ${policies.join(", ")}; no client certificate was presented`
      : `client certificate ${certId} is not known for: ${policies.join(", ")}`,
  );
}
