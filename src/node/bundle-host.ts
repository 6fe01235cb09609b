/**
 * One call of a bundle endpoint: the request and caller go in as JSON, the handler context is
 * offered as host functions acting on the host's context (whose transaction is already guarded by
 * the read policy), and the reply comes back as a response or an error.
 *
 * Failures: a guest `CoterieError` (a known code) reaches the client as that error; a guest
 * exception of any other kind becomes an opaque 500 with an error id (the guest's message is in
 * the node log only); time, memory and stack limits keep their COTERIE_ERR_SANDBOX_* codes.
 */
import type { HandlerContext, HandlerResponse } from "../app/index.ts";
import type { HostFunctions, JsonValue, SandboxModule } from "../sandbox/index.ts";
import { CoterieError, type ErrorCode, errorCodes, isCoterieError } from "../util/errors.ts";

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64");
function unb64(text: JsonValue | undefined): Uint8Array {
  if (typeof text !== "string") throw new CoterieError("COTERIE_ERR_INVALID_INPUT", "expected base64 text");
  return new Uint8Array(Buffer.from(text, "base64"));
}
function str(v: JsonValue | undefined): string {
  if (typeof v !== "string") throw new CoterieError("COTERIE_ERR_INVALID_INPUT", "expected a string");
  return v;
}
function num(v: JsonValue | undefined): number {
  if (typeof v !== "number") throw new CoterieError("COTERIE_ERR_INVALID_INPUT", "expected a number");
  return v;
}

type RangeArgs = { from?: string; to?: string; limit?: number; cursor?: string; reverse?: boolean };

function kvFunctions(ctx: HandlerContext): HostFunctions {
  const { tx } = ctx;
  return {
    kv_get: (map, key) => {
      const v = tx.get(str(map), unb64(key));
      return v === undefined ? null : b64(v);
    },
    kv_version: (map, key) => tx.versionOf(str(map), unb64(key)) ?? null,
    kv_put: (map, key, value) => {
      tx.put(str(map), unb64(key), unb64(value));
    },
    kv_delete: (map, key) => {
      tx.delete(str(map), unb64(key));
    },
    kv_range: (map, args) => {
      const a = (args ?? {}) as RangeArgs;
      const page = tx.range(str(map), {
        limit: num(a.limit),
        ...(a.from === undefined ? {} : { from: unb64(a.from) }),
        ...(a.to === undefined ? {} : { to: unb64(a.to) }),
        ...(a.cursor === undefined ? {} : { cursor: str(a.cursor) }),
        ...(a.reverse === true ? { reverse: true } : {}),
      });
      const entries = page.entries.map(([k, v]) => [b64(k), b64(v)]);
      return page.cursor === undefined ? { entries } : { entries, cursor: page.cursor };
    },
  };
}

function contextFunctions(ctx: HandlerContext): HostFunctions {
  const write = (w: {
    transactionId: string;
    seqno: number;
    value: Uint8Array | null;
    key?: Uint8Array;
  }) => ({
    transactionId: w.transactionId,
    seqno: w.seqno,
    value: w.value === null ? null : b64(w.value),
    ...(w.key === undefined ? {} : { key: b64(w.key) }),
  });
  return {
    request_json: () => ctx.request.json() as JsonValue,
    set_claims_digest: (d) => {
      ctx.setClaimsDigest(unb64(d));
    },
    committed_seqno: () => ctx.historical.committedSeqno,
    historical_writes: (map, key, from, to) =>
      ctx.historical.writes(str(map), unb64(key), num(from), num(to)).map(write),
    historical_map_writes: (map, from, to, limit) =>
      ctx.historical.mapWrites(str(map), num(from), num(to), num(limit)).map(write),
    sha256: (data) => b64(ctx.crypto.sha256(unb64(data))),
    verify_signature: (pem, data, sig) => ctx.crypto.verifySignature(str(pem), unb64(data), unb64(sig)),
    untrusted_time: () => ctx.untrustedTime(),
  };
}

function parsedJson(ctx: HandlerContext): JsonValue {
  if (ctx.request.body.length === 0)
    return { error: { code: "COTERIE_ERR_INVALID_JSON", message: "the request has no body" } };
  try {
    return { value: ctx.request.json() as JsonValue };
  } catch (error) {
    if (isCoterieError(error)) return { error: { code: error.code, message: error.message } };
    throw error;
  }
}

function requestOf(ctx: HandlerContext): JsonValue {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(ctx.request.headers)) {
    if (typeof v === "string" && k !== "authorization" && k !== "cookie") headers[k] = v;
  }
  return {
    method: ctx.request.method,
    path: ctx.request.path,
    params: { ...ctx.request.params },
    query: [...ctx.request.query.entries()],
    headers,
    body: b64(ctx.request.body),
    // The parsed body travels with the request (saves a host call); errors are replayed in the guest.
    json: parsedJson(ctx),
    caller: JSON.parse(
      JSON.stringify(ctx.caller, (_, v) => (v instanceof Uint8Array ? b64(v) : v)),
    ) as JsonValue,
    readerParties: [...ctx.readerParties],
  };
}

type Reply = {
  error?: { code: string; message: string };
  status: number | null;
  body: JsonValue;
  headers: Record<string, string> | null;
  hasBody: boolean;
};

/** Runs export `handler` of `module` for one request and maps its reply. */
export function invoke(
  module: SandboxModule,
  handler: string,
  ctx: HandlerContext,
): HandlerResponse | undefined {
  let reply: Reply;
  try {
    reply = module.call(handler, [requestOf(ctx)], {
      ...kvFunctions(ctx),
      ...contextFunctions(ctx),
    }) as Reply;
  } catch (error) {
    // A plain guest exception is the app's bug: opaque to the client, logged by the frontend.
    if (isCoterieError(error) && error.code === "COTERIE_ERR_SANDBOX_THROWN") {
      throw new Error(`bundle handler ${handler} threw: ${error.message}`, { cause: error });
    }
    throw error;
  }
  if (reply.error !== undefined) {
    const code = reply.error.code;
    if (Object.hasOwn(errorCodes, code))
      throw new CoterieError(code as ErrorCode, String(reply.error.message));
    throw new Error(`bundle handler ${handler} threw unknown code ${code}: ${reply.error.message}`);
  }
  const out: HandlerResponse = {};
  if (reply.status !== null) out.status = reply.status;
  if (reply.hasBody) out.body = reply.body;
  if (reply.headers !== null) out.headers = reply.headers;
  return out;
}
