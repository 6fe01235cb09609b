/**
 * The app API as seen from inside the sandbox. `coterie app build` bundles an app against this
 * file instead of src/app/index.ts (same names, same handler context), so one source serves as a
 * built-in app and as a governed bundle. Every read, write and helper is a host function: the
 * host applies the read policy of confidential tables, so a bundle cannot bypass it.
 *
 * Bundle ABI v1 (what src/node/bundle.ts expects; docs/apps.md "Bundle format"):
 *   coterie_app() → { abi: 1, name, version?, tables, endpoints: [{ ...shape, handler: "endpoint_<i>" }] }
 *   endpoint_<i>(request) → { status?, body?, headers? } | { error: { code, message } }
 */
import type { Codec } from "../kv/codecs.ts";
import { CoterieError } from "../util/errors.ts";
import { json, raw, u64, utf8 } from "./guest-codecs.ts";
import {
  checkConfidentialSpec,
  checkEndpointShape,
  declareConfidential,
  endpointsMax,
  withDeclaredTables,
} from "./shape.ts";
import type { App, Endpoint, HandlerContext, HandlerResponse } from "./types.ts";

export type { App, Endpoint, HandlerContext, HandlerResponse };
export { CoterieError, json, raw, u64, utf8 };

type B64 = { encode(b: Uint8Array): string; decode(s: string): Uint8Array };
/** The host functions src/node/bundle-host.ts offers to every endpoint call. */
export type HostName =
  | "kv_get"
  | "kv_version"
  | "kv_put"
  | "kv_delete"
  | "kv_range"
  | "request_json"
  | "set_claims_digest"
  | "committed_seqno"
  | "historical_writes"
  | "historical_map_writes"
  | "sha256"
  | "verify_signature"
  | "untrusted_time";
type HostFns = Record<HostName, (...args: unknown[]) => unknown>;
declare const base64: B64;
declare const host: HostFns;

/** Declares an app (checked here too, so a malformed bundle fails at load). */
export function defineApp(app: App): App {
  if (app.endpoints.length > endpointsMax)
    throw new TypeError(`an app has at most ${endpointsMax} endpoints`);
  for (const e of app.endpoints) checkEndpointShape(e);
  for (const t of app.tables ?? []) checkConfidentialSpec(t);
  return { ...app, tables: withDeclaredTables(app.tables) };
}

export function defineTable<K, V>(name: string, keyCodec: Codec<K>, valueCodec: Codec<V>) {
  return {
    name,
    keyCodec,
    valueCodec,
    in: (tx: GuestTx) => new GuestTypedMap(tx, name, keyCodec, valueCodec),
  };
}

export function confidentialTable<V, K = string>(
  name: string,
  keyCodec: Codec<K>,
  policy: { readableBy: readonly string[] },
) {
  const spec = checkConfidentialSpec({ name, readableBy: [...policy.readableBy] });
  declareConfidential(spec);
  return { ...defineTable(name, keyCodec, json<V>()), readableBy: spec.readableBy };
}

type Page = { entries: Array<[Uint8Array, Uint8Array]>; cursor?: string };
type RangeArgs = { from?: Uint8Array; to?: Uint8Array; limit: number; cursor?: string; reverse?: boolean };

/** The transaction, over host functions. Same method names as the host's `Tx`. */
export class GuestTx {
  get(map: string, key: Uint8Array): Uint8Array | undefined {
    const v = host.kv_get(map, base64.encode(key)) as string | null;
    return v === null ? undefined : base64.decode(v);
  }
  has(map: string, key: Uint8Array): boolean {
    return this.get(map, key) !== undefined;
  }
  versionOf(map: string, key: Uint8Array): number | undefined {
    const v = host.kv_version(map, base64.encode(key)) as number | null;
    return v === null ? undefined : v;
  }
  put(map: string, key: Uint8Array, value: Uint8Array): void {
    host.kv_put(map, base64.encode(key), base64.encode(value));
  }
  delete(map: string, key: Uint8Array): void {
    host.kv_delete(map, base64.encode(key));
  }
  range(map: string, o: RangeArgs): Page {
    const args: Record<string, unknown> = { limit: o.limit, reverse: o.reverse === true };
    if (o.from !== undefined) args.from = base64.encode(o.from);
    if (o.to !== undefined) args.to = base64.encode(o.to);
    if (o.cursor !== undefined) args.cursor = o.cursor;
    const page = host.kv_range(map, args) as { entries: Array<[string, string]>; cursor?: string };
    const entries = page.entries.map(([k, v]): [Uint8Array, Uint8Array] => [
      base64.decode(k),
      base64.decode(v),
    ]);
    return page.cursor === undefined ? { entries } : { entries, cursor: page.cursor };
  }
  /** Pages through the whole map (100 entries per host call); `fn` returning false stops. */
  forEach(map: string, fn: (key: Uint8Array, value: Uint8Array) => unknown): void {
    let cursor: string | undefined;
    do {
      const page: Page = this.range(map, cursor === undefined ? { limit: 100 } : { limit: 100, cursor });
      for (const [k, v] of page.entries) if (fn(k, v) === false) return;
      cursor = page.cursor;
    } while (cursor !== undefined);
  }
  typed<K, V>(map: string, keyCodec: Codec<K>, valueCodec: Codec<V>): GuestTypedMap<K, V> {
    return new GuestTypedMap(this, map, keyCodec, valueCodec);
  }
}

export class GuestTypedMap<K, V> {
  readonly name: string;
  private readonly tx: GuestTx;
  private readonly k: Codec<K>;
  private readonly v: Codec<V>;
  constructor(tx: GuestTx, name: string, k: Codec<K>, v: Codec<V>) {
    this.tx = tx;
    this.name = name;
    this.k = k;
    this.v = v;
  }
  get(key: K): V | undefined {
    const b = this.tx.get(this.name, this.k.encode(key));
    return b === undefined ? undefined : this.v.decode(b);
  }
  has(key: K): boolean {
    return this.tx.has(this.name, this.k.encode(key));
  }
  put(key: K, value: V): void {
    this.tx.put(this.name, this.k.encode(key), this.v.encode(value));
  }
  delete(key: K): void {
    this.tx.delete(this.name, this.k.encode(key));
  }
  versionOf(key: K): number | undefined {
    return this.tx.versionOf(this.name, this.k.encode(key));
  }
  range(o: { from?: K; to?: K; limit: number; cursor?: string; reverse?: boolean }): {
    entries: Array<[K, V]>;
    cursor?: string;
  } {
    const args: RangeArgs = { limit: o.limit };
    if (o.from !== undefined) args.from = this.k.encode(o.from);
    if (o.to !== undefined) args.to = this.k.encode(o.to);
    if (o.cursor !== undefined) args.cursor = o.cursor;
    if (o.reverse !== undefined) args.reverse = o.reverse;
    const page = this.tx.range(this.name, args);
    const entries = page.entries.map(([k, v]): [K, V] => [this.k.decode(k), this.v.decode(v)]);
    return page.cursor === undefined ? { entries } : { entries, cursor: page.cursor };
  }
  forEach(fn: (key: K, value: V) => unknown): void {
    this.tx.forEach(this.name, (k, v) => fn(this.k.decode(k), this.v.decode(v)));
  }
}
