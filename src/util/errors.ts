/**
 * The one registry of client-facing error codes. Each code has an HTTP status and a heading in
 * docs/errors.md (test/unit/util/errors.test.ts checks both directions). Codes are never reused
 * or renamed once published; retire one by marking it deprecated in the docs.
 *
 * Only `CoterieError`s reach a client with their message. Anything else becomes
 * COTERIE_ERR_INTERNAL with an opaque error id that the operator can find in the logs.
 */
export const errorCodes = {
  // -- general / HTTP frontend
  COTERIE_ERR_INTERNAL: {
    status: 500,
    summary: "Unexpected failure; the response carries an error id to find in the logs.",
  },
  COTERIE_ERR_NOT_FOUND: { status: 404, summary: "No such route or resource." },
  COTERIE_ERR_METHOD_NOT_ALLOWED: { status: 405, summary: "The route exists but not for this method." },
  COTERIE_ERR_BODY_TOO_LARGE: { status: 413, summary: "The request body exceeds the configured limit." },
  COTERIE_ERR_UNSUPPORTED_CONTENT_TYPE: {
    status: 415,
    summary: "The request body has a content type the endpoint does not take.",
  },
  COTERIE_ERR_INVALID_JSON: { status: 400, summary: "The request body is not valid JSON." },
  COTERIE_ERR_INVALID_INPUT: {
    status: 400,
    summary: "A parameter or body field is missing, of the wrong type, or out of range.",
  },
  COTERIE_ERR_UNAUTHENTICATED: {
    status: 401,
    summary: "No credential, or one the service does not know, for an endpoint that requires one.",
  },
  COTERIE_ERR_FORBIDDEN: { status: 403, summary: "The caller is known but not allowed to do this." },
  COTERIE_ERR_TOO_MANY_REQUESTS: { status: 503, summary: "A bounded queue is full; retry later." },
  COTERIE_ERR_SERVICE_NOT_OPEN: { status: 503, summary: "The service is not open for user requests yet." },
  COTERIE_ERR_TIMEOUT: {
    status: 504,
    summary: "Waiting for commit took longer than the configured limit; the transaction may still commit.",
  },
  // -- kv
  COTERIE_ERR_KV_CONFLICT: {
    status: 409,
    summary: "A transaction kept conflicting with concurrent writes after the configured number of attempts.",
  },
  COTERIE_ERR_KV_RESERVED_MAP: {
    status: 403,
    summary: "An application tried to write a map whose name uses a reserved prefix.",
  },
  COTERIE_ERR_KV_INVALID_CURSOR: {
    status: 400,
    summary: "A range-query continuation token is malformed or belongs to another query.",
  },
  COTERIE_ERR_KV_LIMIT: {
    status: 400,
    summary: "A key, value or write set exceeds its configured size limit.",
  },
  // -- ledger and receipts
  COTERIE_ERR_TX_INVALID_ID: { status: 400, summary: "A transaction id is not of the form view.seqno." },
  COTERIE_ERR_RECEIPT_NOT_READY: {
    status: 202,
    summary: "The transaction is not committed yet, so it has no receipt.",
  },
  COTERIE_ERR_RECEIPT_UNAVAILABLE: {
    status: 404,
    summary: "The transaction is unknown or invalid, so it has no receipt.",
  },
  COTERIE_ERR_NOT_PRIMARY: {
    status: 307,
    summary: "This node is not the primary; the Location header names the primary.",
  },
  // -- consensus
  // -- governance
  // -- apps and sandbox
  // -- attestation
} as const satisfies Record<string, { status: number; summary: string }>;

export type ErrorCode = keyof typeof errorCodes;

/** Parameters of `CoterieError`; `details` reach the client, `cause` only the logs. */
export type CoterieErrorOptions = { details?: unknown; cause?: unknown };

/**
 * Base class for every deliberate error. `message` is short and safe to show a client: never put
 * a secret, a key or private record content in it.
 */
export class CoterieError extends Error {
  override name = "CoterieError";
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: unknown;
  readonly docsPath: string;

  constructor(code: ErrorCode, message: string, options: CoterieErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = errorCodes[code].status;
    this.details = options.details;
    this.docsPath = `docs/errors.md#${code.toLowerCase()}`;
  }

  /** The JSON body a client receives: `{"error":{"code","message"[,"details"]}}`. */
  toJSON(): { error: { code: ErrorCode; message: string; details?: unknown } } {
    const error: { code: ErrorCode; message: string; details?: unknown } = {
      code: this.code,
      message: this.message,
    };
    if (this.details !== undefined) error.details = this.details;
    return { error };
  }
}

export function isCoterieError(value: unknown): value is CoterieError {
  return value instanceof CoterieError;
}
