/**
 * The exports of a bundle (ABI v1), built around an app inside the sandbox: `coterie_app`
 * describes it; `endpoint_<i>` runs endpoint i with a handler context made of host functions.
 * A thrown CoterieError-like error (a `code` starting COTERIE_ERR_) becomes an `{ error }` reply
 * the host turns back into that error; anything else propagates as a guest failure (500 with an
 * error id on the host).
 */

import { GuestTx, type HostName } from "./guest.ts";
import { utf8Decode } from "./guest-codecs.ts";
import { endpointsMax } from "./shape.ts";
import type { App, HandlerContext, HandlerResponse, HistoricalMapWrite, HistoricalWrite } from "./types.ts";

type B64 = { encode(b: Uint8Array): string; decode(s: string): Uint8Array };
declare const base64: B64;
declare const host: Record<HostName, (...args: unknown[]) => unknown>;

/** What the host passes to `endpoint_<i>`. */
export type GuestRequest = {
  method: string;
  path: string;
  params: Record<string, string>;
  query: Array<[string, string]>;
  headers: Record<string, string>;
  body: string;
  /** The body parsed on the host, or the error `json()` throws. */
  json: { value: unknown } | { error: { code: string; message: string } };
  caller: HandlerContext["caller"];
  readerParties: string[];
};

/** The part of URLSearchParams handlers use (V8 alone has no URLSearchParams). */
class GuestQuery {
  private readonly pairs: Array<[string, string]>;
  constructor(pairs: Array<[string, string]>) {
    this.pairs = pairs;
  }
  get(name: string): string | null {
    return this.pairs.find(([k]) => k === name)?.[1] ?? null;
  }
  getAll(name: string): string[] {
    return this.pairs.filter(([k]) => k === name).map(([, v]) => v);
  }
  has(name: string): boolean {
    return this.pairs.some(([k]) => k === name);
  }
}

const historicalWrite = (w: {
  transactionId: string;
  seqno: number;
  value: string | null;
  key?: string;
}) => ({
  transactionId: w.transactionId,
  seqno: w.seqno,
  value: w.value === null ? null : base64.decode(w.value),
  ...(w.key === undefined ? {} : { key: base64.decode(w.key) }),
});

function contextOf(r: GuestRequest): HandlerContext {
  const body = base64.decode(r.body);
  const request = {
    method: r.method,
    path: r.path,
    params: r.params,
    query: new GuestQuery(r.query),
    headers: r.headers,
    body,
    json: () => {
      if ("value" in r.json) return r.json.value;
      throw Object.assign(new Error(r.json.error.message), { code: r.json.error.code });
    },
  };
  return {
    request: request as unknown as HandlerContext["request"],
    caller: r.caller,
    readerParties: r.readerParties,
    tx: new GuestTx() as unknown as HandlerContext["tx"],
    setClaimsDigest: (d: Uint8Array) => void host.set_claims_digest(base64.encode(d)),
    historical: {
      get committedSeqno() {
        return host.committed_seqno() as number;
      },
      writes: (map, key, from, to) =>
        (host.historical_writes(map, base64.encode(key), from, to) as never[]).map(
          historicalWrite,
        ) as HistoricalWrite[],
      mapWrites: (map, from, to, limit) =>
        (host.historical_map_writes(map, from, to, limit) as never[]).map(
          historicalWrite,
        ) as HistoricalMapWrite[],
    },
    crypto: {
      sha256: (data) => base64.decode(host.sha256(base64.encode(data)) as string),
      verifySignature: (pem, data, sig) =>
        host.verify_signature(pem, base64.encode(data), base64.encode(sig)) === true,
    },
    untrustedTime: () => host.untrusted_time() as number,
  };
}

function run(app: App, i: number, request: GuestRequest): unknown {
  const endpoint = app.endpoints[i];
  if (endpoint === undefined) throw new RangeError(`no endpoint ${i}`);
  try {
    const out = endpoint.handler(contextOf(request));
    if (out instanceof Promise) throw new TypeError("bundle handlers must be synchronous");
    if (typeof out === "function")
      throw new TypeError(
        "bundle handlers cannot return a function; read the transaction id from the response",
      );
    const r = (out ?? {}) as HandlerResponse;
    return {
      status: r.status ?? null,
      body: r.body === undefined ? null : r.body,
      headers: r.headers ?? null,
      hasBody: r.body !== undefined,
    };
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === "string" && code.startsWith("COTERIE_ERR_")) {
      return { error: { code, message: String((error as Error).message) } };
    }
    throw error;
  }
}

/** The ABI exports for `app`: spread them into the bundle's module exports (see src/cli/app.ts). */
export function bundleExports(app: App): Record<string, unknown> {
  const exports: Record<string, unknown> = {
    coterie_app: () => ({
      abi: 1,
      name: app.name,
      version: app.version ?? null,
      tables: (app.tables ?? []).map((t) => ({ name: t.name, readableBy: [...t.readableBy] })),
      endpoints: app.endpoints.map((e, i) => {
        const { handler: _, ...shape } = e;
        return { ...shape, handler: `endpoint_${i}` };
      }),
    }),
  };
  for (let i = 0; i < Math.min(app.endpoints.length, endpointsMax); i++) {
    exports[`endpoint_${i}`] = (request: GuestRequest) => run(app, i, request);
  }
  return exports;
}

export { utf8Decode };
