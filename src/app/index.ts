/** The API application authors import (`coterie/app`). */

export type { Codec, Table, Tx } from "../kv/index.ts";
export { defineTable, json, raw, u64, utf8 } from "../kv/index.ts";
export { CoterieError, type ErrorCode } from "../util/errors.ts";
export {
  type ConfidentialTable,
  checkConfidentialSpec,
  confidentialTable,
  mayReadBytes,
  partiesOfRecord,
  readerPartiesOf,
} from "./confidential.ts";
export { checkEndpointShape, defineApp, endpointsMax, isWellFormedAuth, policyNamesOf } from "./define.ts";
export { guardTx } from "./guard.ts";
export { openApiOf, withOpenApi } from "./openapi.ts";
export { type RouteMatch, Router } from "./router.ts";
export { checkSchema } from "./schema.ts";
export type {
  AllOf,
  App,
  AppCrypto,
  AppRequest,
  AuthPolicy,
  AuthRequirement,
  Caller,
  ConfidentialSpec,
  Endpoint,
  EndpointMode,
  Handler,
  HandlerContext,
  HandlerResponse,
  HandlerResult,
  HistoricalMapWrite,
  HistoricalReader,
  HistoricalWrite,
  HttpMethod,
  JsonSchema,
} from "./types.ts";
