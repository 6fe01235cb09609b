/**
 * `coterie/client`: the browser-safe SDK (no `node:` module anywhere in its imports). For Node.js
 * with a pinned service certificate and mutual TLS, use `coterie/client/node` (node.ts).
 * README.md lists the API; test/unit/client/exports.test.ts snapshots this list.
 */
export type { CoseAlg, CoseSigner } from "../crypto/cose.ts";
export { cryptoKeySigner } from "../crypto/cose.ts";
export type { ServedCoseReceipt, VerifiedCoseReceipt } from "../crypto/cose-receipt.ts";
export { verifyServedCoseReceipt } from "../crypto/cose-receipt.ts";
export type { Receipt, VerifiedReceipt, VerifyReceiptOptions } from "../crypto/receipt.ts";
export { verifyReceipt } from "../crypto/receipt.ts";
export type { Backoff } from "./backoff.ts";
export type {
  ClientOptions,
  CoterieClient,
  RequestOptions,
  WriteOptions,
  WriteResult,
} from "./client.ts";
export { CLIENT_DEFAULTS, createClient } from "./client.ts";
export type { ClientErrorCode, CoterieClientErrorOptions } from "./errors.ts";
export { CoterieClientError, isCoterieClientError } from "./errors.ts";
export type {
  AckResult,
  GovMessageOptions,
  GovMessageType,
  ProposalAction,
  ProposalInfo,
} from "./governance.ts";
export { fixedBallot, GOV_MSG, signGovRequest } from "./governance.ts";
export type { LedgerChunk, LedgerVerifyOptions, LedgerVerifyReport } from "./ledger-verify.ts";
export { verifyLedgerChunks } from "./ledger-verify.ts";
export type { Identity } from "./signers.ts";
export {
  certificateKid,
  createIdentity,
  pemToDer,
  signerFromCryptoKey,
  signerFromPem,
} from "./signers.ts";
export type { FetchLike, HttpMethod, HttpRequest, HttpResponse } from "./transport.ts";
export { TX_ID_HEADER } from "./transport.ts";
export type { TxStatus, TxStatusResult, WaitForCommitOptions } from "./wait.ts";
