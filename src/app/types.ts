/**
 * What an application author writes against: endpoints with a method, a path template, the
 * authentication policies that admit a caller, a mode, JSON schemas, and a handler that gets a
 * context. The same types describe built-in apps and governed bundles (see docs/apps.md).
 */
import type { Tx } from "../kv/index.ts";

export type HttpMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

/** Ways a caller may authenticate; an endpoint admits the caller if any one listed policy does. */
export type AuthPolicy =
  | "user_cert"
  | "member_cert"
  | "jwt"
  | "user_cose_sign1"
  | "member_cose_sign1"
  | "no_auth";

/**
 * A member's COSE Sign1 governance request, checked before the handler runs (src/node/auth-cose.ts):
 * the signature under the member certificate the kid names, the freshness of `createdAt`, and that
 * it was not accepted before. `digest` is the hex SHA-256 of `bytes`.
 */
export type CoseSignedRequest = {
  type: string;
  createdAt: number;
  proposalId: string | null;
  payload: Uint8Array;
  bytes: Uint8Array;
  digest: string;
};

/** A requirement met only when every listed policy admits the caller (e.g. certificate and JWT). */
export type AllOf = { readonly all_of: readonly AuthPolicy[] };

/** One entry of an endpoint's `auth` list. */
export type AuthRequirement = AuthPolicy | AllOf;

/**
 * - `readwrite`: runs on the primary in a transaction; writes are committed and replicated.
 * - `readonly`: runs on any node against the latest state; writes are refused.
 * - `historical`: read-only, and may read committed history through `ctx.historical`.
 */
export type EndpointMode = "readwrite" | "readonly" | "historical";

export type Caller =
  | { policy: "user_cert"; id: string; data: unknown }
  | { policy: "member_cert"; id: string; data: unknown }
  | { policy: "jwt"; issuer: string; subject: string | null; claims: Record<string, unknown> }
  /** `payload` is the verified COSE payload; it is also the handler's `request.body`. */
  | { policy: "user_cose_sign1"; id: string; data: unknown; payload: Uint8Array }
  | { policy: "member_cose_sign1"; id: string; data: unknown; request: CoseSignedRequest }
  | { policy: "all_of"; callers: Caller[] }
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

/** One committed write to some key of a map. */
export type HistoricalMapWrite = HistoricalWrite & { key: Uint8Array };

/**
 * Committed history, served from an index (no ledger scan). Records of confidential tables the
 * caller may not read are left out, exactly as if they had never been written.
 */
export type HistoricalReader = {
  /** Writes to `key` of `map` committed in seqnos [fromSeqno, toSeqno], oldest first. */
  writes(map: string, key: Uint8Array, fromSeqno: number, toSeqno: number): HistoricalWrite[];
  /** Writes to any key of `map` committed in [fromSeqno, toSeqno], oldest first, at most `limit`. */
  mapWrites(map: string, fromSeqno: number, toSeqno: number, limit: number): HistoricalMapWrite[];
  /** The highest committed seqno. */
  readonly committedSeqno: number;
};

/** Crypto helpers that need no key material of the node. */
export type AppCrypto = {
  sha256(data: Uint8Array): Uint8Array;
  /**
   * Checks an ECDSA (P-256/P-384, IEEE P1363 r‖s) or RSA PKCS#1 v1.5 signature over `data` with
   * SHA-256 under a PEM public key or certificate. Returns false for a bad signature or key.
   */
  verifySignature(publicKeyPem: string, data: Uint8Array, signature: Uint8Array): boolean;
};

export type HandlerContext = {
  request: AppRequest;
  caller: Caller;
  /**
   * The parties the caller may read as, assigned by governance (`party` and `audits` in the user's
   * or member's data, or a JWT's `party` claim). Confidential tables use these.
   */
  readerParties: readonly string[];
  /**
   * The transaction: reads see a snapshot; writes are buffered and committed after the handler.
   * Reads of confidential tables only ever see records the caller may read.
   */
  tx: Tx;
  /** Sets the 32-byte digest of an application claim that receipts of this transaction will prove. */
  setClaimsDigest(digest: Uint8Array): void;
  historical: HistoricalReader;
  crypto: AppCrypto;
  /**
   * The host's wall-clock time in milliseconds since the epoch. Untrusted: the operator controls
   * the clock. Backups never re-run handlers, so the value is recorded only through what you write.
   */
  untrustedTime(): number;
};

export type HandlerResponse = {
  status?: number;
  /** JSON-serialisable body, a string (text/plain) or bytes (application/octet-stream). */
  body?: unknown;
  headers?: Record<string, string>;
};

/**
 * What a handler returns. A function is called once the write is assigned its transaction id
 * (readwrite endpoints), so the response can name it.
 */
export type HandlerResult = HandlerResponse | ((transactionId: string) => HandlerResponse) | undefined;

export type Handler = (ctx: HandlerContext) => HandlerResult | Promise<HandlerResult>;

/** A JSON Schema (2020-12, as OpenAPI 3.1 uses) for a request or response body. */
export type JsonSchema = { readonly [keyword: string]: unknown };

export type Endpoint = {
  method: HttpMethod;
  /** Path under `/app`, e.g. `/log/private` or `/orders/{id}`. */
  path: string;
  auth: readonly AuthRequirement[];
  mode: EndpointMode;
  handler: Handler;
  summary?: string;
  /** Schema of the JSON request body; the framework checks bodies against it (docs/apps.md). */
  requestSchema?: JsonSchema;
  /** Schema of the JSON response body (documentation only). */
  responseSchema?: JsonSchema;
};

/**
 * A confidential table's read policy: the record fields (a party name or an array of them) that
 * name who may read the record. Auditors of a named party may read it too.
 */
export type ConfidentialSpec = { readonly name: string; readonly readableBy: readonly string[] };

export type App = {
  name: string;
  endpoints: readonly Endpoint[];
  /** Confidential tables; the framework applies their read policy on every read path. */
  tables?: readonly ConfidentialSpec[];
  version?: string;
};
