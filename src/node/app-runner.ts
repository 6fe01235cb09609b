/**
 * Runs one application endpoint: authenticate, read the body, run the handler in a transaction
 * (read-write on the primary; read-only anywhere), commit, and answer — at once with the
 * transaction id, or after commit with its receipt when the client asked to wait.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { App, AppRequest, Endpoint, HandlerContext, HandlerResponse, HttpMethod } from "../app/index.ts";
import { assert } from "../util/assert.ts";
import { CoterieError } from "../util/errors.ts";
import { authenticate } from "./auth.ts";
import type { FrontendDeps } from "./frontend.ts";
import { historicalReader } from "./historical.ts";
import { parseJsonBody, readBody, sendBody, sendJson } from "./http.ts";

export type EndpointCall = {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  certId: string | null;
  deps: FrontendDeps;
  endpoint: Endpoint;
  params: Record<string, string>;
  mount: Mount;
};

/**
 * An app served under a path prefix: the user application under `/app`, governance under `/gov`.
 * Only framework mounts may write reserved (`coterie.`) maps.
 */
export type Mount = { prefix: string; app: App; reservedWrites: boolean; requireOpen: boolean };

export const TX_ID_HEADER = "x-coterie-transaction-id";

/** True when the client asked to be answered only once its write is committed. */
function wantsCommit(req: IncomingMessage, url: URL): boolean {
  const q = url.searchParams.get("wait_for_commit");
  return q === "true" || q === "1" || req.headers["x-coterie-wait-for-commit"] === "true";
}

export async function runAppEndpoint(call: EndpointCall): Promise<number> {
  const { req, res, url, deps, endpoint } = call;
  const { engine } = deps;
  if (call.mount.requireOpen && !deps.serviceOpen()) {
    throw new CoterieError("COTERIE_ERR_SERVICE_NOT_OPEN", "the service is not open yet");
  }
  const body = await readBody(req, deps.config.http.bodyBytesMax);
  const caller = authenticate(engine.store, { certId: call.certId, req, body }, endpoint.auth);
  const request: AppRequest = {
    method: endpoint.method as HttpMethod,
    path: url.pathname,
    params: call.params,
    query: url.searchParams,
    headers: req.headers,
    body,
    json: () => parseJsonBody(req.headers["content-type"], body),
  };
  let claims: Uint8Array | null = null;
  const historical = historicalReader(engine);
  const ctxFor = (tx: HandlerContext["tx"]): HandlerContext => ({
    request,
    caller,
    tx,
    historical,
    setClaimsDigest(digest) {
      if (!(digest instanceof Uint8Array) || digest.length !== 32)
        throw new TypeError("claims digest must be 32 bytes");
      claims = digest;
    },
  });
  if (endpoint.mode !== "readwrite") {
    const tx = engine.store.beginTx({ reservedWrites: call.mount.reservedWrites });
    const out = await endpoint.handler(ctxFor(tx));
    assert(tx.writeSet().length === 0, `read-only endpoint ${endpoint.path} must not write`);
    return respond(res, out, {});
  }
  const { result, txId } = await engine.execute((tx) => endpoint.handler(ctxFor(tx)), {
    reservedWrites: call.mount.reservedWrites,
    claimsDigest: () => claims,
  });
  if (txId === null) return respond(res, result, {});
  const id = `${txId.view}.${txId.seqno}`;
  const headers = { [TX_ID_HEADER]: id };
  if (!wantsCommit(req, url)) {
    return respond(res, result ?? { body: { transaction_id: id } }, headers);
  }
  const status = await engine.waitForCommit(txId, deps.config.http.commitWaitMsMax);
  if (status !== "Committed") {
    throw new CoterieError(
      "COTERIE_ERR_TX_INVALIDATED",
      `transaction ${id} was rolled back; submit it again`,
      {
        details: { transaction_id: id, status },
      },
    );
  }
  const receipt = engine.receipt(txId);
  sendJson(res, 200, { transaction_id: id, status, receipt, response: result?.body ?? null }, headers);
  return 200;
}

function respond(
  res: ServerResponse,
  out: HandlerResponse | undefined,
  headers: Record<string, string>,
): number {
  const status = out?.status ?? 200;
  sendBody(res, status, out?.body, { ...headers, ...out?.headers });
  return status;
}
