/**
 * One HTTP exchange with the service, the way a careful client does it:
 *
 * - Redirects (307/308, what a backup answers a write with) are followed by hand, at most
 *   `redirectsMax` hops and never from https to anything else, and every hop re-sends the same
 *   method, body and headers — including `Authorization`, which standard clients drop on a
 *   cross-origin redirect (the known trap). A client certificate stays because the same dispatcher
 *   serves every hop. In a browser, `redirect: "manual"` yields an opaque response; the request is
 *   then re-issued with `redirect: "follow"` and the browser follows it (307 keeps the body, so a
 *   COSE-signed request keeps its authentication).
 * - Idempotent reads (GET) are retried with backoff on network errors and on 503, up to
 *   `readRetriesMax` times.
 * - A write is never retried. If it fails after it may have reached the service, the error is
 *   COTERIE_ERR_CLIENT_OUTCOME_UNKNOWN carrying any transaction id already seen.
 */
import { abortedError, type Backoff, backoffDelayMs, sleep } from "./backoff.ts";
import { CoterieClientError } from "./errors.ts";

/** The subset of WHATWG `fetch` the SDK needs; inject one to pin certificates or add a dispatcher. */
export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

export type TransportOptions = {
  baseUrl: URL;
  fetch: FetchLike;
  /** Sent on every request and every redirect hop (e.g. `authorization`). */
  headers: Readonly<Record<string, string>>;
  redirectsMax: number;
  readRetriesMax: number;
  retryBackoff: Backoff;
  requestTimeoutMs: number;
  responseBytesMax: number;
};

export type HttpMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

export type HttpRequest = {
  method: HttpMethod;
  /** Path with optional query, relative to the service URL, e.g. `/app/log/private?id=1`. */
  path: string;
  body?: Uint8Array | string;
  headers?: Readonly<Record<string, string>>;
  signal?: AbortSignal;
};

export type HttpResponse = {
  status: number;
  headers: Headers;
  body: Uint8Array;
  /** The URL that finally answered (after redirects). */
  url: string;
  transactionId: string | null;
};

export const TX_ID_HEADER = "x-coterie-transaction-id";
const REDIRECTS = new Set([307, 308]);
/** Errors that prove the request never left this machine, so even a write definitely did not run. */
const NOT_SENT_CAUSES = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN"]);

/** Sends `req`; see the file comment for redirects, retries and writes. */
export async function send(options: TransportOptions, req: HttpRequest): Promise<HttpResponse> {
  const idempotent = req.method === "GET";
  for (let attempt = 0; ; attempt++) {
    const retriesLeft = idempotent && attempt < options.readRetriesMax;
    let response: HttpResponse;
    try {
      response = await sendFollowingRedirects(options, req);
    } catch (error) {
      if (error instanceof CoterieClientError) throw error;
      if (req.signal?.aborted) throw abortedSend(req, req.signal, error);
      if (!retriesLeft) throw networkError(req, error);
      await sleep(backoffDelayMs(options.retryBackoff, attempt), req.signal);
      continue;
    }
    if (response.status === 503 && retriesLeft) {
      await sleep(
        retryAfterMs(response.headers) ?? backoffDelayMs(options.retryBackoff, attempt),
        req.signal,
      );
      continue;
    }
    return response;
  }
}

async function sendFollowingRedirects(options: TransportOptions, req: HttpRequest): Promise<HttpResponse> {
  let url = new URL(req.path, options.baseUrl);
  const headers = { ...options.headers, ...req.headers };
  for (let hop = 0; hop <= options.redirectsMax; hop++) {
    const signal = withTimeout(req.signal, options.requestTimeoutMs);
    const init: RequestInit = { method: req.method, headers, redirect: "manual", signal };
    if (req.body !== undefined) init.body = req.body as BodyInit;
    let res = await options.fetch(url.href, init);
    if (res.type === "opaqueredirect") {
      // A browser hides the Location of a manual redirect; let the browser follow it instead.
      res = await options.fetch(url.href, { ...init, redirect: "follow" });
    }
    if (!REDIRECTS.has(res.status)) return readResponse(res, url, options.responseBytesMax);
    await res.body?.cancel();
    const location = res.headers.get("location");
    if (location === null) return readResponse(res, url, options.responseBytesMax);
    const next = new URL(location, url);
    if (url.protocol === "https:" && next.protocol !== "https:") {
      throw new CoterieClientError(
        "COTERIE_ERR_CLIENT_TOO_MANY_REDIRECTS",
        `refusing a redirect off https to ${next.origin}`,
        {
          status: res.status,
        },
      );
    }
    url = next;
  }
  throw new CoterieClientError(
    "COTERIE_ERR_CLIENT_TOO_MANY_REDIRECTS",
    `more than ${options.redirectsMax} redirects for ${req.method} ${req.path}`,
    { details: { last_url: url.href } },
  );
}

async function readResponse(res: Response, url: URL, bytesMax: number): Promise<HttpResponse> {
  const transactionId = res.headers.get(TX_ID_HEADER);
  const declared = Number(res.headers.get("content-length") ?? "0");
  if (declared > bytesMax) {
    await res.body?.cancel();
    throw tooLarge(bytesMax, res.status, transactionId);
  }
  let body: Uint8Array;
  try {
    body = new Uint8Array(await res.arrayBuffer());
  } catch (cause) {
    // The answer started (the request ran) but its body broke off: keep what we know.
    throw Object.assign(new Error("response body interrupted", { cause }), { transactionId });
  }
  if (body.length > bytesMax) throw tooLarge(bytesMax, res.status, transactionId);
  return { status: res.status, headers: res.headers, body, url: res.url || url.href, transactionId };
}

function tooLarge(bytesMax: number, status: number, transactionId: string | null): CoterieClientError {
  return new CoterieClientError("COTERIE_ERR_CLIENT_BAD_RESPONSE", `response exceeds ${bytesMax} bytes`, {
    status,
    transactionId,
  });
}

function withTimeout(signal: AbortSignal | undefined, timeoutMs: number): AbortSignal {
  const timeout = AbortSignal.timeout(timeoutMs);
  return signal === undefined ? timeout : AbortSignal.any([signal, timeout]);
}

function retryAfterMs(headers: Headers): number | null {
  const seconds = Number(headers.get("retry-after"));
  return Number.isFinite(seconds) && seconds > 0 ? Math.min(seconds, 60) * 1000 : null;
}

function causeCode(error: unknown): string | null {
  for (let e = error, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string") return code;
  }
  return null;
}

/** The caller aborted; a write may already have reached the service, so say so. */
function abortedSend(req: HttpRequest, signal: AbortSignal, error: unknown): CoterieClientError {
  if (req.method === "GET") return abortedError(signal);
  const transactionId = (error as { transactionId?: string | null }).transactionId ?? null;
  return new CoterieClientError(
    "COTERIE_ERR_CLIENT_ABORTED",
    `${req.method} ${req.path} was aborted after it may have been sent; it may or may not have executed` +
      (transactionId === null ? "" : ` (transaction ${transactionId})`),
    { cause: signal.reason, transactionId, details: { transaction_id: transactionId } },
  );
}

/** A read that failed on the network, or a write whose outcome may be unknown. */
function networkError(req: HttpRequest, error: unknown): CoterieClientError {
  const code = causeCode(error);
  const transactionId = (error as { transactionId?: string | null }).transactionId ?? null;
  const why = code ?? (error instanceof Error ? error.message : String(error));
  if (req.method === "GET" || (code !== null && NOT_SENT_CAUSES.has(code) && transactionId === null)) {
    const what = req.method === "GET" ? "" : " (the write was not sent)";
    return new CoterieClientError(
      "COTERIE_ERR_CLIENT_NETWORK",
      `${req.method} ${req.path} failed: ${why}${what}`,
      {
        cause: error,
        transactionId,
      },
    );
  }
  const seen =
    transactionId === null ? "no transaction id was seen" : `its transaction id is ${transactionId}`;
  return new CoterieClientError(
    "COTERIE_ERR_CLIENT_OUTCOME_UNKNOWN",
    `${req.method} ${req.path} failed after it was sent (${why}); it may or may not have executed, ${seen}. ` +
      "It was not retried: check with the transaction id, or read the state, before sending it again.",
    { cause: error, transactionId, details: { transaction_id: transactionId } },
  );
}
