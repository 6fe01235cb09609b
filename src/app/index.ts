/** The API application authors import (`coterie/app`). */

export type { Codec, Table, Tx } from "../kv/index.ts";
export { defineTable, json, raw, u64, utf8 } from "../kv/index.ts";
export { CoterieError, type ErrorCode } from "../util/errors.ts";
export { defineApp } from "./define.ts";
export { type RouteMatch, Router } from "./router.ts";
export type {
  App,
  AppRequest,
  AuthPolicy,
  Caller,
  Endpoint,
  EndpointMode,
  Handler,
  HandlerContext,
  HandlerResponse,
  HistoricalReader,
  HistoricalWrite,
  HttpMethod,
} from "./types.ts";
