/**
 * The one error type the SDK throws for a failed call: `CoterieClientError`, a `CoterieError`
 * whose `code` comes from the registry in src/util/errors.ts (narrow on it), whose `status` is the
 * HTTP status actually received (0 when no response came back), and whose `details` are the
 * service's details. `remoteCode` keeps the code exactly as the service sent it, so a code newer
 * than this SDK is not lost (its `code` is then COTERIE_ERR_CLIENT_BAD_RESPONSE).
 */
import { CoterieError, type ErrorCode, errorCodes } from "../util/errors.ts";

export type CoterieClientErrorOptions = {
  status?: number;
  details?: unknown;
  cause?: unknown;
  remoteCode?: string | null;
  /** Transaction id seen before the failure (header or body), if any. */
  transactionId?: string | null;
};

export class CoterieClientError extends CoterieError {
  override name = "CoterieClientError";
  /** The code as the service sent it, or null when the SDK raised the error itself. */
  readonly remoteCode: string | null;
  /** The transaction id the service assigned, when one was seen before the failure. */
  readonly transactionId: string | null;

  constructor(code: ErrorCode, message: string, options: CoterieClientErrorOptions = {}) {
    const base = options.cause === undefined ? {} : { cause: options.cause };
    super(code, message, options.details === undefined ? base : { ...base, details: options.details });
    // The registry's status is what a node sends for this code; a client error reports what it saw.
    (this as { status: number }).status = options.status ?? errorCodes[code].status;
    this.remoteCode = options.remoteCode ?? null;
    this.transactionId = options.transactionId ?? null;
  }
}

export function isCoterieClientError(value: unknown): value is CoterieClientError {
  return value instanceof CoterieClientError;
}

/** Codes this SDK raises on its own (never sent by a node). */
export type ClientErrorCode = Extract<ErrorCode, `COTERIE_ERR_CLIENT_${string}`>;

function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === "string" && Object.hasOwn(errorCodes, code);
}

/**
 * Turns a non-2xx response body into a `CoterieClientError`. The body should be the service's
 * error shape `{"error":{"code","message","details"?}}`; anything else is BAD_RESPONSE.
 */
export function errorFromResponse(
  status: number,
  bodyText: string,
  transactionId: string | null,
): CoterieClientError {
  let parsed: unknown;
  try {
    parsed = JSON.parse(bodyText);
  } catch {
    parsed = null;
  }
  const error = (parsed as { error?: { code?: unknown; message?: unknown; details?: unknown } } | null)
    ?.error;
  if (typeof error !== "object" || error === null || typeof error.code !== "string") {
    return new CoterieClientError("COTERIE_ERR_CLIENT_BAD_RESPONSE", `HTTP ${status} without an error body`, {
      status,
      details: { body: bodyText.slice(0, 512) },
      transactionId,
    });
  }
  const message = typeof error.message === "string" ? error.message : error.code;
  const code = isErrorCode(error.code) ? error.code : "COTERIE_ERR_CLIENT_BAD_RESPONSE";
  return new CoterieClientError(code, message, {
    status,
    details: error.details,
    remoteCode: error.code,
    transactionId,
  });
}
