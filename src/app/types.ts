/**
 * What an application author writes against: endpoints with a method, a path template, the
 * authentication policies that admit a caller, a mode, and a handler that gets a context.
 */
import type { Tx } from "../kv/index.ts";

export type HttpMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

/** Ways a caller may authenticate; an endpoint admits the caller if any one listed policy does. */
export type AuthPolicy = "user_cert" | "member_cert" | "no_auth";

/**
 * - `readwrite`: runs on the primary in a transaction; writes are committed and replicated.
 * - `readonly`: runs on any node against the latest state; writes are refused.
 * - `historical`: read-only, and may read committed history through `ctx.historical`.
 */
export type EndpointMode = "readwrite" | "readonly" | "historical";

export type Caller =
  | { policy: "user_cert"; id: string; data: unknown }
  | { policy: "member_cert"; id: string; data: unknown }
  | { policy: "no_auth" };

export type AppRequest = {
  method: HttpMethod;
  path: string;
  /** Values of `{name}` segments of the path template. */
  params: Readonly<Record<string, string>>;
  query: URLSearchParams;
  headers: Readonly<Record<string, string | string[] | undefined>>;
  body: Uint8Array;
  /** The body parsed as JSON; throws COTERIE_ERR_INVALID_JSON / COTERIE_ERR_UNSUPPORTED_CONTENT_TYPE. */
  json(): unknown;
};

/** One committed write to a key, from the ledger. `value` is null for a delete. */
export type HistoricalWrite = { transactionId: string; seqno: number; value: Uint8Array | null };

export type HistoricalReader = {
  /** Writes to `key` of `map` committed in seqnos [fromSeqno, toSeqno], oldest first. */
  writes(map: string, key: Uint8Array, fromSeqno: number, toSeqno: number): HistoricalWrite[];
  /** The highest committed seqno. */
  readonly committedSeqno: number;
};

export type HandlerContext = {
  request: AppRequest;
  caller: Caller;
  /** The transaction: reads see a snapshot; writes are buffered and committed after the handler. */
  tx: Tx;
  /** Sets the 32-byte digest of an application claim that receipts of this transaction will prove. */
  setClaimsDigest(digest: Uint8Array): void;
  historical: HistoricalReader;
};

export type HandlerResponse = {
  status?: number;
  /** JSON-serialisable body, a string (text/plain) or bytes (application/octet-stream). */
  body?: unknown;
  headers?: Record<string, string>;
};

export type Handler = (
  ctx: HandlerContext,
) => HandlerResponse | undefined | Promise<HandlerResponse | undefined>;

export type Endpoint = {
  method: HttpMethod;
  /** Path under `/app`, e.g. `/log/private` or `/orders/{id}`. */
  path: string;
  auth: readonly AuthPolicy[];
  mode: EndpointMode;
  handler: Handler;
  summary?: string;
};

export type App = { name: string; endpoints: readonly Endpoint[] };
