/**
 * `coterie/client/node`: the Node.js adapter. It pins the service certificate as the only trusted
 * CA and presents the caller's client certificate (mutual TLS) through an `undici` Agent, and
 * hands `createClient` a fetch bound to that agent. Kept out of `index.ts` because undici is a
 * Node library: the browser bundle never sees this file. It imports no `node:` module itself.
 */
import { Agent, fetch as undiciFetch } from "undici";
import { type ClientOptions, type CoterieClient, createClient } from "./client.ts";
import { signerFromPem } from "./signers.ts";
import type { FetchLike } from "./transport.ts";

export type NodeFetchOptions = {
  /** PEM of the service certificate: the only CA trusted for this service's nodes. */
  serviceCert: string;
  /** PEM client certificate and PKCS#8 key for mutual TLS (user or member identity). */
  cert?: string;
  key?: string;
  /** Keep-alive connections per node; default 16. */
  connectionsMax?: number;
};

export type NodeFetch = FetchLike & { close(): Promise<void> };

/** A fetch that trusts only `serviceCert` and presents `cert`/`key`, on every hop of a redirect. */
export function createNodeFetch(options: NodeFetchOptions): NodeFetch {
  if (typeof options.serviceCert !== "string") throw new TypeError("serviceCert (PEM) is required");
  if ((options.cert === undefined) !== (options.key === undefined))
    throw new TypeError("give both cert and key, or neither");
  const tls: Record<string, unknown> = { ca: options.serviceCert, minVersion: "TLSv1.3" };
  if (options.cert !== undefined) Object.assign(tls, { cert: options.cert, key: options.key });
  const agent = new Agent({ connect: tls, connections: options.connectionsMax ?? 16 });
  const fetchFn = ((url: string, init: RequestInit) =>
    undiciFetch(url, { ...(init as object), dispatcher: agent } as Parameters<
      typeof undiciFetch
    >[1]) as unknown as Promise<Response>) as NodeFetch;
  fetchFn.close = () => agent.close();
  return fetchFn;
}

export type NodeClientOptions = Omit<ClientOptions, "fetch" | "serviceCert"> &
  NodeFetchOptions & {
    /** PKCS#8 PEM key of `cert`: signs governance requests, and writes when `signWrites` is set. */
    signingKey?: string;
  };

/**
 * A client for Node.js: pinned service certificate, mutual TLS, optional COSE signer.
 *
 * @example
 *   const client = await createNodeClient({ url, serviceCert, cert: userCert, key: userKey });
 *   await client.write("/app/log/public", { id: 1, msg: "hi" }, { waitForCommit: true });
 *   await client.close();
 */
export async function createNodeClient(
  options: NodeClientOptions,
): Promise<CoterieClient & { close(): Promise<void> }> {
  const { serviceCert, cert, key, connectionsMax, signingKey, ...rest } = options;
  const fetchOptions: NodeFetchOptions = { serviceCert };
  if (cert !== undefined) fetchOptions.cert = cert;
  if (key !== undefined) fetchOptions.key = key;
  if (connectionsMax !== undefined) fetchOptions.connectionsMax = connectionsMax;
  const fetchFn = createNodeFetch(fetchOptions);
  const clientOptions: ClientOptions = { ...rest, serviceCert, fetch: fetchFn };
  if (signingKey !== undefined) {
    if (cert === undefined) throw new TypeError("signingKey needs its certificate (cert)");
    clientOptions.signer = await signerFromPem(signingKey, cert);
  }
  return { ...createClient(clientOptions), close: fetchFn.close };
}
