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
  COTERIE_ERR_TX_INVALIDATED: {
    status: 503,
    summary: "The transaction was rolled back by a change of primary before it committed; submit it again.",
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
  COTERIE_ERR_HISTORY_NOT_READY: {
    status: 503,
    summary:
      "The history index is still catching up, and the query spans more unindexed seqnos than are read directly; retry later.",
  },
  COTERIE_ERR_LEDGER_MALFORMED: {
    status: 400,
    summary: "Ledger bytes do not follow docs/ledger-format.md (framing, lengths, encoding).",
  },
  COTERIE_ERR_LEDGER_DECRYPT: {
    status: 500,
    summary: "A private section does not decrypt under the ledger secret it names.",
  },
  COTERIE_ERR_LEDGER_CORRUPT: {
    status: 500,
    summary: "A ledger file is damaged other than by a torn tail; the node refuses to start on it.",
  },
  COTERIE_ERR_LEDGER_VERIFY_FAILED: {
    status: 400,
    summary:
      "Offline verification found an entry whose digest, root, signature or certificate does not check.",
  },
  COTERIE_ERR_NOT_PRIMARY: {
    status: 307,
    summary: "This node is not the primary; the Location header names the primary.",
  },
  // -- crypto
  COTERIE_ERR_COSE_MALFORMED: {
    status: 400,
    summary:
      "A COSE Sign1 message is not of the expected shape: CBOR, tag 18, header types, duplicate labels, trailing bytes or a size limit.",
  },
  COTERIE_ERR_COSE_UNSUPPORTED_ALG: {
    status: 400,
    summary:
      "A COSE message names an algorithm other than ES256 (-7) or ES384 (-35), or one that does not fit the key.",
  },
  COTERIE_ERR_COSE_BAD_SIGNATURE: {
    status: 401,
    summary: "A COSE Sign1 signature does not verify under the signer's public key.",
  },
  COTERIE_ERR_RECEIPT_MALFORMED: {
    status: 400,
    summary: "A receipt lacks a field or has one of the wrong type or encoding (see docs/receipts.md).",
  },
  COTERIE_ERR_RECEIPT_EVIDENCE_MISMATCH: {
    status: 400,
    summary: "A receipt's commit evidence, leaf index or tree size does not match its transaction ids.",
  },
  COTERIE_ERR_RECEIPT_BAD_PROOF: {
    status: 400,
    summary:
      "A receipt's Merkle proof has the wrong shape for its leaf index and tree size, or does not lead to its root.",
  },
  COTERIE_ERR_RECEIPT_BAD_SIGNATURE: {
    status: 400,
    summary: "A receipt's root signature does not verify under its node certificate.",
  },
  COTERIE_ERR_RECEIPT_NODE_ID_MISMATCH: {
    status: 400,
    summary: "A receipt's node_id is not the SHA-256 of its node certificate (DER).",
  },
  COTERIE_ERR_RECEIPT_CERT_NOT_ENDORSED: {
    status: 400,
    summary: "A receipt's node certificate is not signed by the service certificate's key.",
  },
  COTERIE_ERR_RECEIPT_CERT_EXPIRED: {
    status: 400,
    summary: "A receipt's node certificate is outside its validity period (expired or not yet valid).",
  },
  COTERIE_ERR_SHAMIR_INVALID_SHARES: {
    status: 400,
    summary: "Recovery shares are malformed, of different lengths, duplicated, or too few to combine.",
  },
  // -- consensus
  COTERIE_ERR_CONSENSUS_JOIN_REFUSED: {
    status: 403,
    summary:
      "A join request was refused: the node is retired, or the service runs as a single node without node-to-node channels. A joining node also ends with this code when its target refuses it for good (the target's status and code in the details).",
  },
  COTERIE_ERR_CONSENSUS_NO_PRIMARY: {
    status: 503,
    summary: "This node knows no primary right now (an election is in progress); retry shortly.",
  },
  COTERIE_ERR_NODE_RETIRED: {
    status: 410,
    summary:
      "This node was retired from the service (remove_node) and its state no longer follows the service's; send requests to another node.",
  },
  // -- governance
  COTERIE_ERR_GOV_REQUEST_MALFORMED: {
    status: 400,
    summary:
      "A governance request is not a COSE Sign1 with the required protected headers (alg, kid, msg type, created_at, proposal id where needed), or its payload does not parse.",
  },
  COTERIE_ERR_GOV_WRONG_MESSAGE_TYPE: {
    status: 400,
    summary: "The COSE message type (or its proposal id) does not match the endpoint it was sent to.",
  },
  COTERIE_ERR_GOV_REQUEST_STALE: {
    status: 401,
    summary:
      "The signed request's created_at is outside the accepted window around the node's time; sign it again.",
  },
  COTERIE_ERR_GOV_REQUEST_REPLAYED: {
    status: 409,
    summary: "This exact signed request was already accepted; a replay changes nothing.",
  },
  COTERIE_ERR_GOV_MEMBER_NOT_ACTIVE: {
    status: 403,
    summary:
      "The member has not acknowledged the state digest yet (status Accepted); only an ack is allowed.",
  },
  COTERIE_ERR_GOV_PROPOSAL_INVALID: {
    status: 400,
    summary: "The constitution's validate refused the proposal; the message carries its reason.",
  },
  COTERIE_ERR_GOV_PROPOSAL_NOT_FOUND: {
    status: 404,
    summary: "No proposal has this id.",
  },
  COTERIE_ERR_GOV_PROPOSAL_NOT_OPEN: {
    status: 409,
    summary: "The proposal is no longer Open, so ballots and withdrawals are refused.",
  },
  COTERIE_ERR_GOV_NOT_PROPOSER: {
    status: 403,
    summary: "Only the member who submitted a proposal may withdraw it.",
  },
  COTERIE_ERR_GOV_STATE_DIGEST_MISMATCH: {
    status: 409,
    summary: "The acknowledged state digest is not the current one; fetch it again and re-sign.",
  },
  COTERIE_ERR_GOV_CONSTITUTION_ERROR: {
    status: 500,
    summary: "The constitution threw or hit a sandbox limit while validating; nothing was written.",
  },
  COTERIE_ERR_GOV_SIGNER_FAILED: {
    status: 500,
    summary: "The external signer command failed or printed something that is not a signature.",
  },
  COTERIE_ERR_GOV_AUDIT_FAILED: {
    status: 400,
    summary:
      "Offline governance audit found a signature that does not verify or an outcome that does not recompute.",
  },
  // -- apps and sandbox
  COTERIE_ERR_APP_BUNDLE_INVALID: {
    status: 400,
    summary:
      "An app bundle loads but does not describe a valid app (ABI, endpoints, handlers, tables, limits).",
  },
  COTERIE_ERR_SANDBOX_SYNTAX: {
    status: 400,
    summary: "A sandboxed module does not compile; the message and details give the file, line and column.",
  },
  COTERIE_ERR_SANDBOX_IMPORT: {
    status: 400,
    summary: "A sandboxed module imports other modules; bundle it into one self-contained ES module.",
  },
  COTERIE_ERR_SANDBOX_MISSING_EXPORT: {
    status: 400,
    summary: "A sandboxed module does not export the function that was required or called.",
  },
  COTERIE_ERR_SANDBOX_INPUT_TOO_LARGE: {
    status: 413,
    summary: "A module's source or a call's arguments exceed the sandbox's size limit.",
  },
  COTERIE_ERR_SANDBOX_THROWN: {
    status: 500,
    summary: "Sandboxed code threw; the message carries the guest's error message.",
  },
  COTERIE_ERR_SANDBOX_TIMEOUT: {
    status: 500,
    summary: "Sandboxed code ran past its time limit and was stopped.",
  },
  COTERIE_ERR_SANDBOX_MEMORY: {
    status: 500,
    summary: "Sandboxed code exceeded its memory limit and was stopped.",
  },
  COTERIE_ERR_SANDBOX_STACK_OVERFLOW: {
    status: 500,
    summary: "Sandboxed code recursed deeper than the stack allows.",
  },
  COTERIE_ERR_SANDBOX_RESULT_TOO_LARGE: {
    status: 500,
    summary: "A sandboxed function returned a result larger than the sandbox's limit.",
  },
  COTERIE_ERR_SANDBOX_INVALID_RESULT: {
    status: 500,
    summary: "A sandboxed function returned something that is not JSON (a promise, a BigInt, a cycle).",
  },
  COTERIE_ERR_SANDBOX_DISPOSED: {
    status: 503,
    summary: "The sandboxed module was unloaded (for example replaced by governance); retry.",
  },
  // -- client (src/client; raised by the SDK itself, never sent by a node: status 0)
  COTERIE_ERR_CLIENT_NETWORK: {
    status: 0,
    summary: "A read could not reach the service, after the SDK's bounded retries.",
  },
  COTERIE_ERR_CLIENT_OUTCOME_UNKNOWN: {
    status: 0,
    summary:
      "A write was sent but no answer came back; it may or may not have executed. The SDK never retries it.",
  },
  COTERIE_ERR_CLIENT_TOO_MANY_REDIRECTS: {
    status: 0,
    summary: "Following redirects towards the primary exceeded the SDK's hop limit, or led off https.",
  },
  COTERIE_ERR_CLIENT_BAD_RESPONSE: {
    status: 0,
    summary:
      "The service answered with something the SDK cannot read: not JSON, a missing field, or an unknown error code.",
  },
  COTERIE_ERR_CLIENT_TIMEOUT: {
    status: 0,
    summary: "The SDK stopped waiting (for commit, or for a response); the transaction may still commit.",
  },
  COTERIE_ERR_CLIENT_ABORTED: { status: 0, summary: "The caller's AbortSignal aborted the call." },
  // -- attestation
  COTERIE_ERR_ATTESTATION_MALFORMED: {
    status: 400,
    summary:
      "Attestation evidence is truncated or malformed (wrong length, bad encoding, missing field, non-zero reserved bytes).",
  },
  COTERIE_ERR_ATTESTATION_UNSUPPORTED_REPORT: {
    status: 400,
    summary:
      "The attestation report has a version, signature algorithm or signing-key type this node does not verify.",
  },
  COTERIE_ERR_ATTESTATION_BAD_SIGNATURE: {
    status: 403,
    summary: "The attestation report or statement signature does not verify under its endorsement key.",
  },
  COTERIE_ERR_ATTESTATION_BAD_CHAIN: {
    status: 403,
    summary:
      "The endorsement certificate chain is out of order, expired, wrongly signed, or does not match the report.",
  },
  COTERIE_ERR_ATTESTATION_UNKNOWN_ROOT: {
    status: 403,
    summary: "The endorsement chain does not end at a pinned hardware vendor root key.",
  },
  COTERIE_ERR_ATTESTATION_PLATFORM_NOT_ALLOWED: {
    status: 403,
    summary:
      "The evidence comes from a platform the policy does not accept (e.g. virtual evidence in production).",
  },
  COTERIE_ERR_ATTESTATION_MEASUREMENT_NOT_ALLOWED: {
    status: 403,
    summary: "The code measurement in the evidence is not in the governance allow-list.",
  },
  COTERIE_ERR_ATTESTATION_HOST_DATA_NOT_ALLOWED: {
    status: 403,
    summary: "The host data in the evidence is not in the governance allow-list.",
  },
  COTERIE_ERR_ATTESTATION_REPORT_DATA_MISMATCH: {
    status: 403,
    summary:
      "The evidence binds another public key than the one presented (replayed or misdirected evidence).",
  },
  COTERIE_ERR_ATTESTATION_DEBUG_POLICY: {
    status: 403,
    summary: "The guest policy allows debugging, so its memory is readable by the host; refused.",
  },
  COTERIE_ERR_ATTESTATION_TCB_TOO_OLD: {
    status: 403,
    summary: "The reported TCB is below the minimum set for the product, or no minimum is set for it.",
  },
  COTERIE_ERR_ATTESTATION_PROVIDER_FAILED: {
    status: 500,
    summary: "The platform evidence or sealing-key provider failed on this node.",
  },
  COTERIE_ERR_ATTESTATION_UNSEAL_FAILED: {
    status: 500,
    summary:
      "Sealed data could not be unsealed: wrong label, changed measurement, other machine, or corrupted file.",
  },
  // -- secrets and recovery
  COTERIE_ERR_RECOVERY_BAD_KEY: {
    status: 400,
    summary:
      "An encryption key is not RSA (at least 2048 bits) or EC P-256/P-384, or the key does not decrypt the value.",
  },
  COTERIE_ERR_RECOVERY_NOT_RECOVERING: {
    status: 409,
    summary:
      "The service is not waiting for recovery shares (not started in recover mode, or already restored).",
  },
  COTERIE_ERR_RECOVERY_NOT_OPEN: {
    status: 409,
    summary:
      "Members must open the recovered service by vote (transition_service_to_open) before submitting recovery shares.",
  },
  COTERIE_ERR_RECOVERY_NOT_A_PARTICIPANT: {
    status: 403,
    summary: "This member holds no recovery share of the ledger being recovered.",
  },
  COTERIE_ERR_RECOVERY_WRONG_SHARE: {
    status: 400,
    summary: "The submitted share is not the one issued to this member; it was not counted.",
  },
  COTERIE_ERR_RECOVERY_DUPLICATE_SHARE: {
    status: 409,
    summary: "This member's share was already accepted; it was not counted twice.",
  },
  COTERIE_ERR_RECOVERY_FAILED: {
    status: 500,
    summary:
      "The combined shares did not unwrap the ledger secrets (the recorded shares or secrets are inconsistent).",
  },
  COTERIE_ERR_RECOVERY_NO_LEDGER: {
    status: 400,
    summary: "None of the given ledger directories holds a verifiable signed ledger.",
  },
  COTERIE_ERR_SNAPSHOT_MALFORMED: {
    status: 400,
    summary: "A snapshot file is truncated, malformed, or does not match its recorded digest.",
  },
  COTERIE_ERR_SNAPSHOT_MISSING: {
    status: 400,
    summary:
      "A ledger starts after a snapshot (its node joined from one) and that snapshot was not given or found.",
  },
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
    // No stack: a CoterieError is an expected answer to bad input, not a fault, and its code and
    // message say where it comes from. Capturing one cost ~15 µs per error, against ~1.5 µs for
    // the rest (bench/error-cost.ts): a flood of requests for missing records spent a fifth of a
    // node's CPU on stacks nobody reads (they are never logged or sent).
    // `stackTraceLimit` is V8's (Node, Chromium); elsewhere setting it does nothing. This module is
    // shared with the browser client, whose type-check knows only the standard `Error`.
    const v8Error = Error as { stackTraceLimit?: number };
    const limit = v8Error.stackTraceLimit;
    if (limit !== undefined) v8Error.stackTraceLimit = 0;
    try {
      super(message, options.cause === undefined ? undefined : { cause: options.cause });
    } finally {
      if (limit !== undefined) v8Error.stackTraceLimit = limit;
    }
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
