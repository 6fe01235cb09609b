/**
 * `createClient`: a client bound to one Coterie service. It sends requests through the transport
 * (redirects, read retries, never a silent write retry), turns error bodies into
 * `CoterieClientError`s, and offers the transaction verbs every app needs: write with or without
 * respond-on-commit, status, wait for commit, receipt, receipt verification.
 */
import { type CoseSigner, signCoseSign1 } from "../crypto/cose.ts";
import {
  type ServedCoseReceipt,
  type VerifiedCoseReceipt,
  verifyServedCoseReceipt,
} from "../crypto/cose-receipt.ts";
import type { Receipt, VerifiedReceipt } from "../crypto/receipt.ts";
import { verifyReceipt } from "../crypto/receipt.ts";
import type { Backoff } from "./backoff.ts";
import { CoterieClientError, errorFromResponse } from "./errors.ts";
import { createGovernance } from "./governance.ts";
import {
  type FetchLike,
  type HttpMethod,
  type HttpResponse,
  send,
  type TransportOptions,
} from "./transport.ts";
import {
  checkTxId,
  parseTxStatus,
  pollForCommit,
  type TxStatusResult,
  type WaitForCommitOptions,
} from "./wait.ts";

export type ClientOptions = {
  /** The service URL, e.g. `https://127.0.0.1:8000`. */
  url: string | URL;
  /** PEM of the service certificate, used by `verifyReceipt` (Node pins it in the fetch; see node.ts). */
  serviceCert?: string;
  /** Defaults to `globalThis.fetch` (a browser's, with its trust store and client certificates). */
  fetch?: FetchLike;
  /** Signs governance requests (`client.gov`), and writes when asked to: see signers.ts. */
  signer?: CoseSigner;
  /** Send every write as a COSE Sign1 by `signer` (endpoints with the `user_cose_sign1` policy). */
  signWrites?: boolean;
  /** Headers sent on every request and redirect hop, e.g. `{ authorization: "Bearer …" }`. */
  headers?: Readonly<Record<string, string>>;
  redirectsMax?: number;
  readRetriesMax?: number;
  retryBackoff?: Backoff;
  requestTimeoutMs?: number;
  responseBytesMax?: number;
};

export type RequestOptions = {
  query?: Readonly<Record<string, string | number | boolean>>;
  headers?: Readonly<Record<string, string>>;
  signal?: AbortSignal;
};

export type WriteOptions = RequestOptions & {
  method?: Exclude<HttpMethod, "GET">;
  /** Answer only after commit, with the receipt (respond-on-commit). */
  waitForCommit?: boolean;
  /** Sign this write's body with the client's `signer` (COSE Sign1); default `signWrites`. */
  signed?: boolean;
};

/** The result of a write. `receipt` is present when the write waited for commit. */
export type WriteResult<T = unknown> = {
  transactionId: string;
  status: "Pending" | "Committed";
  response: T | null;
  receipt?: Receipt;
};

export const CLIENT_DEFAULTS = {
  redirectsMax: 5,
  readRetriesMax: 3,
  retryBackoff: { initialDelayMs: 100, delayMsMax: 2_000 },
  requestTimeoutMs: 30_000,
  responseBytesMax: 16 * 1024 * 1024,
} as const;

export type CoterieClient = ReturnType<typeof createClient>;

/**
 * @example
 *   const client = createClient({ url: "https://127.0.0.1:8000", serviceCert });
 *   const { transactionId, receipt } = await client.write("/app/log/public", { id: 1, msg: "hi" },
 *     { waitForCommit: true });
 */
export function createClient(options: ClientOptions) {
  const transport = transportOptions(options);
  const request = async (method: HttpMethod, path: string, body: unknown, opts: RequestOptions = {}) =>
    checked(await send(transport, { method, path: withQuery(path, opts.query), ...encodeBody(body, opts) }));
  const getJson = async <T>(path: string, opts?: RequestOptions) =>
    parseBody(await request("GET", path, undefined, opts)) as T;
  const txStatus = async (txId: string, signal?: AbortSignal): Promise<TxStatusResult> =>
    parseTxStatus(await getJson(`/app/tx?transaction_id=${checkTxId(txId)}`, signal ? { signal } : {}));
  return {
    url: transport.baseUrl.href,
    /** Any call: returns the raw response after redirects and read retries; throws on non-2xx. */
    request,
    /** GET `path` and parse its JSON (or return text/bytes by content type). */
    get: getJson,
    /** Any method, parsed body, no transaction id expected (e.g. a read-only POST). */
    call: async <T = unknown>(method: HttpMethod, path: string, body?: unknown, opts?: RequestOptions) =>
      parseBody(await request(method, path, body, opts)) as T,
    write: async <T = unknown>(path: string, body: unknown, opts: WriteOptions = {}) => {
      const sign = opts.signed ?? options.signWrites ?? false;
      const [sent, signedOpts] = sign ? await signedBody(options.signer, body, opts) : [body, opts];
      return parseWrite<T>(await request(opts.method ?? "POST", path, sent, withWait(signedOpts)));
    },
    txStatus,
    waitForCommit: (txId: string, opts: WaitForCommitOptions = {}) => pollForCommit(txId, txStatus, opts),
    getReceipt: (txId: string, opts: RequestOptions = {}) =>
      getJson<Receipt>(`/app/receipt?transaction_id=${checkTxId(txId)}`, opts),
    /** Verifies a receipt offline against `serviceCertPem`, or the certificate this client was given. */
    verifyReceipt: (receipt: unknown, serviceCertPem = options.serviceCert): Promise<VerifiedReceipt> => {
      if (serviceCertPem === undefined) throw new TypeError("verifyReceipt needs the service certificate");
      return verifyReceipt(receipt, serviceCertPem);
    },
    /** The COSE form of a committed transaction's receipt, signed by the node that answers. */
    getCoseReceipt: (txId: string, opts: RequestOptions = {}) =>
      getJson<ServedCoseReceipt>(`/app/receipt?transaction_id=${checkTxId(txId)}&format=cose`, opts),
    /** Verifies a `getCoseReceipt` answer offline against `serviceCertPem`, or this client's. */
    verifyCoseReceipt: (
      answer: unknown,
      serviceCertPem = options.serviceCert,
    ): Promise<VerifiedCoseReceipt> => {
      if (serviceCertPem === undefined)
        throw new TypeError("verifyCoseReceipt needs the service certificate");
      return verifyServedCoseReceipt(answer, serviceCertPem);
    },
    commit: async () => (await getJson<{ transaction_id: string }>("/app/commit")).transaction_id,
    nodeState: () => getJson<Record<string, unknown>>("/node/state"),
    network: () => getJson<{ service_certificate: string } & Record<string, unknown>>("/node/network"),
    /** Member helpers: proposals, ballots, withdrawal, ack (COSE Sign1 with `options.signer`). */
    gov: createGovernance(request, options.signer),
  };
}

function transportOptions(options: ClientOptions): TransportOptions {
  const baseUrl = new URL(options.url);
  const fetchFn = options.fetch ?? globalThis.fetch?.bind(globalThis);
  if (typeof fetchFn !== "function") throw new TypeError("no fetch available: pass options.fetch");
  const d = CLIENT_DEFAULTS;
  const t: TransportOptions = {
    baseUrl,
    fetch: fetchFn,
    headers: options.headers ?? {},
    redirectsMax: options.redirectsMax ?? d.redirectsMax,
    readRetriesMax: options.readRetriesMax ?? d.readRetriesMax,
    retryBackoff: options.retryBackoff ?? d.retryBackoff,
    requestTimeoutMs: options.requestTimeoutMs ?? d.requestTimeoutMs,
    responseBytesMax: options.responseBytesMax ?? d.responseBytesMax,
  };
  for (const k of ["redirectsMax", "readRetriesMax", "requestTimeoutMs", "responseBytesMax"] as const) {
    if (!Number.isSafeInteger(t[k]) || t[k] < 0) throw new RangeError(`${k} must be a non-negative integer`);
  }
  return t;
}

/** The body as a COSE Sign1 by `signer` (JSON unless bytes or text), sent as application/cose. */
async function signedBody(
  signer: CoseSigner | undefined,
  body: unknown,
  opts: WriteOptions,
): Promise<[Uint8Array, WriteOptions]> {
  if (signer === undefined) throw new TypeError("a signed write needs a signer (createClient({ signer }))");
  const bytes =
    body instanceof Uint8Array
      ? body
      : new TextEncoder().encode(typeof body === "string" ? body : JSON.stringify(body ?? null));
  const cose = await signCoseSign1(signer, bytes);
  return [cose, { ...opts, headers: { ...opts.headers, "content-type": "application/cose" } }];
}

function withWait(opts: WriteOptions): RequestOptions {
  if (!opts.waitForCommit) return opts;
  return { ...opts, headers: { ...opts.headers, "x-coterie-wait-for-commit": "true" } };
}

function withQuery(path: string, query: RequestOptions["query"]): string {
  if (query === undefined) return path;
  const entries = Object.entries(query).filter(([, v]) => v !== undefined);
  const params = new URLSearchParams(entries.map(([k, v]) => [k, String(v)]));
  return `${path}${path.includes("?") ? "&" : "?"}${params}`;
}

function encodeBody(body: unknown, opts: RequestOptions) {
  const headers: Record<string, string> = { ...opts.headers };
  const out: { body?: Uint8Array | string; headers: Record<string, string>; signal?: AbortSignal } = {
    headers,
  };
  if (opts.signal) out.signal = opts.signal;
  if (body === undefined) return out;
  if (body instanceof Uint8Array || typeof body === "string") out.body = body;
  else {
    out.body = JSON.stringify(body);
    headers["content-type"] ??= "application/json";
  }
  return out;
}

function checked(res: HttpResponse): HttpResponse {
  if (res.status >= 200 && res.status < 300 && res.status !== 202) return res;
  const text = new TextDecoder().decode(res.body);
  // 202 with an error body is how the service says "not ready yet" (a receipt of a pending
  // transaction); any other 202 is an app's success.
  if (res.status === 202 && !hasErrorShape(text)) return res;
  throw errorFromResponse(res.status, text, res.transactionId);
}

function hasErrorShape(text: string): boolean {
  try {
    return typeof (JSON.parse(text) as { error?: { code?: unknown } } | null)?.error?.code === "string";
  } catch {
    return false;
  }
}

/** JSON for `application/json`, text for `text/*`, bytes otherwise, `null` for an empty body. */
export function parseBody(res: HttpResponse): unknown {
  if (res.body.length === 0) return null;
  const type = res.headers.get("content-type")?.split(";")[0]?.trim().toLowerCase() ?? "";
  if (type.startsWith("text/")) return new TextDecoder().decode(res.body);
  if (type !== "application/json" && !type.endsWith("+json")) return res.body;
  try {
    return JSON.parse(new TextDecoder().decode(res.body));
  } catch (cause) {
    throw new CoterieClientError("COTERIE_ERR_CLIENT_BAD_RESPONSE", "the response is not valid JSON", {
      status: res.status,
      cause,
      transactionId: res.transactionId,
    });
  }
}

function parseWrite<T>(res: HttpResponse): WriteResult<T> {
  const body = parseBody(res) as Record<string, unknown> | null;
  const committed =
    body !== null && typeof body === "object" && body.status === "Committed" && "receipt" in body;
  if (committed) {
    const { transaction_id, receipt, response } = body as {
      transaction_id: string;
      receipt: Receipt;
      response: T;
    };
    return { transactionId: transaction_id, status: "Committed", response: response ?? null, receipt };
  }
  const transactionId = res.transactionId ?? (body as { transaction_id?: unknown } | null)?.transaction_id;
  if (typeof transactionId !== "string") {
    throw new CoterieClientError(
      "COTERIE_ERR_CLIENT_BAD_RESPONSE",
      "the write answered without a transaction id",
      {
        status: res.status,
      },
    );
  }
  const isIdOnly = body !== null && typeof body === "object" && Object.keys(body).join() === "transaction_id";
  return { transactionId, status: "Pending", response: isIdOnly ? null : (body as T) };
}
