/**
 * Runs one application endpoint: authenticate, read the body, run the handler in a transaction
 * (read-write on the primary; read-only anywhere), commit, and answer — at once with the
 * transaction id, or after commit with its receipt when the client asked to wait.
 */

import { createPublicKey, type KeyObject, verify } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import {
  type App,
  type AppCrypto,
  type AppRequest,
  type Caller,
  checkSchema,
  type Endpoint,
  guardTx,
  type HandlerContext,
  type HandlerResponse,
  type HandlerResult,
  type HistoricalReader,
  type HttpMethod,
  readerPartiesOf,
} from "../app/index.ts";
import { sha256 } from "../crypto/hash.ts";
import { verifyP1363Sha256 } from "../crypto/keys.ts";
import { CoterieError } from "../util/errors.ts";
import { authenticate } from "./auth.ts";
import type { FrontendDeps } from "./frontend.ts";
import { historicalReader } from "./historical.ts";
import { parseJsonBody, type RequestTarget, readBody, sendBody, sendJsonText } from "./http.ts";
import { redirectToPrimary } from "./routing.ts";

export type EndpointCall = {
  req: IncomingMessage;
  res: ServerResponse;
  url: RequestTarget;
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
function wantsCommit(req: IncomingMessage, url: RequestTarget): boolean {
  const q = url.param("wait_for_commit");
  return q === "true" || q === "1" || req.headers["x-coterie-wait-for-commit"] === "true";
}

export async function runAppEndpoint(call: EndpointCall): Promise<number> {
  const { req, res, url, deps, endpoint } = call;
  const { engine } = deps;
  // Writes run on the primary only: a backup redirects them before reading the body.
  if (endpoint.mode === "readwrite" && !engine.isPrimary) return redirectToPrimary(req, res, engine);
  if (call.mount.requireOpen && !deps.serviceOpen()) {
    throw new CoterieError("COTERIE_ERR_SERVICE_NOT_OPEN", "the service is not open yet");
  }
  const raw = await readBody(req, deps.config.http.bodyBytesMax);
  const caller = authenticate(engine.store, { certId: call.certId, req, body: raw }, endpoint.auth);
  // A COSE-signed request's handler sees the verified payload as its body (JSON by convention).
  const cose = coseCallerOf(caller);
  const body = cose?.payload ?? raw;
  const json = () =>
    cose ? parseJsonBody("application/json", body) : parseJsonBody(req.headers["content-type"], body);
  if (endpoint.requestSchema !== undefined) {
    const why = checkSchema(endpoint.requestSchema, json());
    if (why !== null) throw new CoterieError("COTERIE_ERR_INVALID_INPUT", why);
  }
  const request = new EndpointRequest(
    endpoint.method as HttpMethod,
    url,
    call.params,
    req.headers,
    body,
    json,
  );
  const readerParties = readerPartiesOf(caller);
  const tables = call.mount.app.tables ?? [];
  const claims: ClaimsSlot = { digest: null };
  if (endpoint.mode !== "readwrite") {
    const tx = engine.store.beginTx({ reservedWrites: call.mount.reservedWrites });
    const out = await endpoint.handler(
      new EndpointContext(request, caller, readerParties, tx, tables, engine, claims),
    );
    if (tx.hasWrites) {
      throw new CoterieError(
        "COTERIE_ERR_FORBIDDEN",
        `${endpoint.mode} endpoint ${endpoint.path} may not write`,
      );
    }
    return respond(res, typeof out === "function" ? undefined : out, {});
  }
  const { result, txId } = await engine.execute(
    (tx) => endpoint.handler(new EndpointContext(request, caller, readerParties, tx, tables, engine, claims)),
    { reservedWrites: call.mount.reservedWrites, claimsDigest: () => claims.digest },
  );
  if (txId === null) return respond(res, typeof result === "function" ? undefined : result, {});
  const id = `${txId.view}.${txId.seqno}`;
  const out = responseOf(result, id);
  const headers = { [TX_ID_HEADER]: id };
  if (!wantsCommit(req, url)) {
    return respond(res, out ?? { body: { transaction_id: id } }, headers);
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
  sendJsonText(res, 200, commitAnswerText(id, engine.receiptText(txId), out?.body ?? null), headers);
  return 200;
}

/**
 * `JSON.stringify({ transaction_id, status: "Committed", receipt, response })` with the receipt
 * already JSON text (`Engine.receiptText`): serialising the receipt object was most of a commit
 * answer's cost. test/unit/node/commit-answer.test.ts holds the two equal.
 */
export function commitAnswerText(transactionId: string, receiptText: string, response: unknown): string {
  // A response JSON cannot represent (a function, a symbol) is left out, as JSON.stringify would.
  const responseText = JSON.stringify(response) as string | undefined;
  const responsePart = responseText === undefined ? "" : `,"response":${responseText}`;
  return `{"transaction_id":${JSON.stringify(transactionId)},"status":"Committed","receipt":${receiptText}${responsePart}}`;
}

/** The claims digest a handler set, shared by the attempts of one request. */
type ClaimsSlot = { digest: Uint8Array | null };

/**
 * A handler's context. A class rather than an object literal per request: a literal with a getter
 * is built on V8's slow path (2.3–2.6 µs against 0.1–0.2 µs for this class, ad hoc micro-benchmark;
 * docs/performance.md). Every member is an own data property, so a handler may spread the context
 * or take `setClaimsDigest`, `untrustedTime` or the reader's methods out of it.
 */
/**
 * The handler's request. `query` is made on first read (`RequestTarget.searchParams`), so it lives
 * on the prototype: a spread copy of the request has every other member and no `query`.
 */
class EndpointRequest implements AppRequest {
  readonly method: HttpMethod;
  readonly path: string;
  readonly params: Readonly<Record<string, string>>;
  readonly headers: AppRequest["headers"];
  readonly body: Uint8Array;
  readonly json: () => unknown;
  readonly #target: RequestTarget;

  constructor(
    method: HttpMethod,
    target: RequestTarget,
    params: Readonly<Record<string, string>>,
    headers: AppRequest["headers"],
    body: Uint8Array,
    json: () => unknown,
  ) {
    this.method = method;
    this.path = target.pathname;
    this.params = params;
    this.headers = headers;
    this.body = body;
    this.json = json;
    this.#target = target;
  }

  get query(): URLSearchParams {
    return this.#target.searchParams;
  }
}

export class EndpointContext implements HandlerContext {
  readonly request: AppRequest;
  readonly caller: Caller;
  readonly readerParties: readonly string[];
  readonly tx: HandlerContext["tx"];
  readonly historical: HistoricalReader;
  readonly crypto = appCrypto;
  readonly untrustedTime = untrustedTime;
  readonly setClaimsDigest: (digest: Uint8Array) => void;

  constructor(
    request: AppRequest,
    caller: Caller,
    readerParties: readonly string[],
    tx: HandlerContext["tx"],
    tables: NonNullable<App["tables"]>,
    engine: EndpointCall["deps"]["engine"],
    claims: ClaimsSlot,
  ) {
    this.request = request;
    this.caller = caller;
    this.readerParties = readerParties;
    this.tx = guardTx(tx, tables, readerParties);
    this.historical = new LazyHistoricalReader(engine, tables, readerParties);
    this.setClaimsDigest = (digest) => {
      if (!(digest instanceof Uint8Array) || digest.length !== 32)
        throw new TypeError("claims digest must be 32 bytes");
      claims.digest = digest;
    };
  }
}

/** The handler's historical reader, made on first use: most handlers never read history. */
class LazyHistoricalReader implements HistoricalReader {
  readonly writes: HistoricalReader["writes"];
  readonly mapWrites: HistoricalReader["mapWrites"];
  private readonly made: () => HistoricalReader;

  constructor(
    engine: EndpointCall["deps"]["engine"],
    specs: NonNullable<App["tables"]>,
    readerParties: readonly string[],
  ) {
    let reader: HistoricalReader | undefined;
    const made = () => (reader ??= historicalReader(engine, { specs, readerParties }));
    this.made = made;
    this.writes = (map, key, fromSeqno, toSeqno) => made().writes(map, key, fromSeqno, toSeqno);
    this.mapWrites = (map, fromSeqno, toSeqno, limit) => made().mapWrites(map, fromSeqno, toSeqno, limit);
  }

  get committedSeqno(): number {
    return this.made().committedSeqno;
  }
}

function untrustedTime(): number {
  return Date.now();
}

function responseOf(result: HandlerResult, transactionId: string): HandlerResponse | undefined {
  return typeof result === "function" ? result(transactionId) : result;
}

function coseCallerOf(caller: Caller): { payload: Uint8Array } | null {
  if (caller.policy === "user_cose_sign1") return caller;
  if (caller.policy !== "all_of") return null;
  for (const c of caller.callers) if (c.policy === "user_cose_sign1") return c;
  return null;
}

/**
 * Public keys handlers verified with lately, by PEM: parsing one costs more than a verification.
 * Bounded in count and in the length of a PEM it keeps (a PEM may come from a request).
 */
const publicKeys = new Map<string, KeyObject>();
const APP_PUBLIC_KEYS_CACHED = 256;
const APP_PUBLIC_KEY_PEM_CACHED_CHARS_MAX = 8192;

function publicKeyOf(pem: string): KeyObject {
  let key = publicKeys.get(pem);
  if (key === undefined) {
    key = createPublicKey(pem);
    if (pem.length > APP_PUBLIC_KEY_PEM_CACHED_CHARS_MAX) return key;
    if (publicKeys.size >= APP_PUBLIC_KEYS_CACHED) publicKeys.delete(publicKeys.keys().next().value!);
    publicKeys.set(pem, key);
  }
  return key;
}

/** Crypto helpers of the handler context (no node key material). */
export const appCrypto: AppCrypto = {
  sha256: (data) => sha256(data),
  verifySignature(publicKeyPem, data, signature) {
    try {
      const key = publicKeyOf(publicKeyPem);
      return key.asymmetricKeyType === "ec"
        ? verifyP1363Sha256(key, data, signature)
        : verify("sha256", data, key, signature);
    } catch {
      return false;
    }
  },
};

function respond(
  res: ServerResponse,
  out: HandlerResponse | undefined,
  headers: Record<string, string>,
): number {
  const status = out?.status ?? 200;
  sendBody(res, status, out?.body, { ...headers, ...out?.headers });
  return status;
}
