/**
 * What the constitution and ballots may touch: the `public:coterie.gov.*` maps, values as JSON,
 * keys as text. Known tables use their declared codec (a certificate map holds PEM text, which the
 * guest sees as a JSON string). Reads go through the transaction, so they join its read set.
 *
 * Writes are buffered in an overlay and reach the transaction only when `apply` returns, so a
 * constitution that throws half-way leaves nothing behind (the proposal still records Failed).
 */
import type { Codec, Table, Tx } from "../kv/index.ts";
import { json } from "../kv/index.ts";
import type { JsonValue } from "../sandbox/index.ts";
import { codeIds, hostData, snpTcbMinimum } from "../tables/attestation.ts";
import {
  appBundle,
  constitutionTable,
  jwtIssuers,
  memberAcks,
  openProposals,
  proposals,
  proposalsInfo,
  recoveryConfig,
  serviceTriggers,
  signedRequests,
} from "../tables/governance.ts";
import { memberCerts, memberInfo, nodeInfo, userCerts, userInfo } from "../tables/identities.ts";
import { serviceConfiguration, serviceInfo } from "../tables/service.ts";
import { CoterieError } from "../util/errors.ts";

export const GOV_MAP_PREFIX = "public:coterie.gov.";
/** Maps the framework alone writes: the record of requests and outcomes must not be forgeable. */
const frameworkOnly = new Set([
  proposals.name,
  proposalsInfo.name,
  openProposals.name,
  signedRequests.name,
  memberAcks.name,
]);
/** Entries returned by one `kv_entries` call; governance maps are small. */
export const KV_ENTRIES_MAX = 10_000;

const tables: Array<Table<string, unknown>> = [
  memberCerts,
  memberInfo,
  userCerts,
  userInfo,
  nodeInfo,
  serviceInfo,
  serviceConfiguration,
  constitutionTable,
  appBundle,
  jwtIssuers,
  serviceTriggers,
  recoveryConfig,
  codeIds,
  hostData,
  snpTcbMinimum,
  proposals,
  proposalsInfo,
  openProposals,
  memberAcks,
  signedRequests,
] as Array<Table<string, unknown>>;
const codecs = new Map<string, Codec<unknown>>(tables.map((t) => [t.name, t.valueCodec]));
const jsonCodec = json<unknown>();
/** Maps whose values are text (PEM, JavaScript source), not JSON documents. */
const textMaps = new Set([memberCerts.name, userCerts.name, constitutionTable.name]);
const encoder = new TextEncoder();
const decoder = new TextDecoder();

function checkMap(map: unknown): string {
  if (typeof map !== "string" || !map.startsWith(GOV_MAP_PREFIX)) {
    throw new CoterieError(
      "COTERIE_ERR_FORBIDDEN",
      `only ${GOV_MAP_PREFIX}* maps are reachable, not ${String(map)}`,
    );
  }
  return map;
}

function checkKey(key: unknown): string {
  if (typeof key !== "string") throw new CoterieError("COTERIE_ERR_INVALID_INPUT", "keys are strings");
  return key;
}

/** Reads, and (in apply) buffered writes, over one transaction. */
export class GovKv {
  private readonly tx: Tx;
  private readonly overlay = new Map<string, Map<string, JsonValue | null>>();
  readonly writable: boolean;

  constructor(tx: Tx, writable: boolean) {
    this.tx = tx;
    this.writable = writable;
  }

  get(map: unknown, key: unknown): JsonValue | null {
    const m = checkMap(map);
    const k = checkKey(key);
    const pending = this.overlay.get(m);
    if (pending?.has(k)) return pending.get(k) ?? null;
    const bytes = this.tx.get(m, encoder.encode(k));
    return bytes === undefined ? null : ((codecs.get(m) ?? jsonCodec).decode(bytes) as JsonValue);
  }

  /** Every [key, value] of `map` in key order, the overlay applied; at most KV_ENTRIES_MAX. */
  entries(map: unknown): Array<[string, JsonValue]> {
    const m = checkMap(map);
    const codec = codecs.get(m) ?? jsonCodec;
    const out = new Map<string, JsonValue>();
    this.tx.forEach(m, (k, v) => {
      if (out.size >= KV_ENTRIES_MAX) {
        throw new CoterieError("COTERIE_ERR_INVALID_INPUT", `${m} has more than ${KV_ENTRIES_MAX} entries`);
      }
      out.set(decoder.decode(k), codec.decode(v) as JsonValue);
    });
    for (const [k, v] of this.overlay.get(m) ?? []) {
      if (v === null) out.delete(k);
      else out.set(k, v);
    }
    return [...out].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }

  put(map: unknown, key: unknown, value: JsonValue | null): void {
    const m = this.checkWritable(map);
    const k = checkKey(key);
    if (value === null || value === undefined) {
      throw new CoterieError("COTERIE_ERR_INVALID_INPUT", "use kv_delete to delete");
    }
    if (textMaps.has(m) && typeof value !== "string") {
      throw new CoterieError("COTERIE_ERR_INVALID_INPUT", `${m} holds text values`);
    }
    this.setPending(m, k, value);
  }

  delete(map: unknown, key: unknown): void {
    this.setPending(this.checkWritable(map), checkKey(key), null);
  }

  /** Moves the buffered writes into the transaction (after `apply` returned). */
  flush(): void {
    for (const [m, writes] of this.overlay) {
      const codec = codecs.get(m) ?? jsonCodec;
      for (const [k, v] of writes) {
        if (v === null) this.tx.delete(m, encoder.encode(k));
        else this.tx.put(m, encoder.encode(k), codec.encode(v));
      }
    }
    this.overlay.clear();
  }

  private setPending(map: string, key: string, value: JsonValue | null): void {
    let m = this.overlay.get(map);
    if (m === undefined) {
      m = new Map();
      this.overlay.set(map, m);
    }
    m.set(key, value);
  }

  private checkWritable(map: unknown): string {
    const m = checkMap(map);
    if (!this.writable)
      throw new CoterieError("COTERIE_ERR_FORBIDDEN", "state is read-only here (only apply writes)");
    if (frameworkOnly.has(m))
      throw new CoterieError("COTERIE_ERR_FORBIDDEN", `${m} is written by the framework only`);
    return m;
  }
}
