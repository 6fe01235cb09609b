/**
 * Confidential tables and their read policy. A record names who may read it: the values of its
 * `readableBy` fields (a party name, or an array of them). A caller reads as the parties
 * governance gave it (`readerPartiesOf`): its own party and the parties it audits. A record is
 * readable iff the two sets meet. Everything here is pure: the same check runs for built-in apps,
 * for bundles (on the host side of the sandbox), for historical reads and for receipts.
 */
import { type Codec, defineTable, json, type Table } from "../kv/index.ts";
import { checkConfidentialSpec, declareConfidential, partiesPerRecordMax } from "./shape.ts";

export { checkConfidentialSpec } from "./shape.ts";

import type { Caller, ConfidentialSpec } from "./types.ts";

/** A table whose records only their parties (and those parties' auditors) can read. */
export type ConfidentialTable<K, V> = Table<K, V> & ConfidentialSpec;

/**
 * Declares a confidential table: values are JSON records; `readableBy` names the fields that hold
 * the parties. List the table in the app's `tables` so the framework enforces the policy.
 *
 * @example
 * export const orders = confidentialTable<Order>("orders", utf8, { readableBy: ["supplier", "retailer"] });
 */
export function confidentialTable<V, K = string>(
  name: string,
  keyCodec: Codec<K>,
  policy: { readableBy: readonly string[] },
): ConfidentialTable<K, V> {
  const spec = checkConfidentialSpec({ name, readableBy: [...policy.readableBy] });
  declareConfidential(spec);
  return Object.freeze({ ...defineTable(name, keyCodec, json<V>()), readableBy: spec.readableBy });
}

/** The parties a record names in its `readableBy` fields; malformed fields name nobody. */
export function partiesOfRecord(spec: ConfidentialSpec, record: unknown): string[] {
  if (record === null || typeof record !== "object") return [];
  const out: string[] = [];
  for (const field of spec.readableBy) {
    const v = (record as Record<string, unknown>)[field];
    const list = Array.isArray(v) ? v : [v];
    for (const p of list.slice(0, partiesPerRecordMax)) if (typeof p === "string" && p !== "") out.push(p);
  }
  return out;
}

const decoder = new TextDecoder("utf-8", { fatal: true });

/** True iff a reader with `readerParties` may read the stored bytes of a record. */
export function mayReadBytes(
  spec: ConfidentialSpec,
  bytes: Uint8Array,
  readerParties: readonly string[],
): boolean {
  if (readerParties.length === 0) return false;
  let record: unknown;
  try {
    record = JSON.parse(decoder.decode(bytes));
  } catch {
    return false;
  }
  return partiesOfRecord(spec, record).some((p) => readerParties.includes(p));
}

/**
 * The parties a caller reads as: `party` and `audits` (an array) from the user's or member's data
 * that governance set, or a JWT's `party` claim. All-of callers read as the union.
 */
export function readerPartiesOf(caller: Caller): string[] {
  const out = new Set<string>();
  const add = (v: unknown) => {
    if (typeof v === "string" && v !== "") out.add(v);
  };
  const fromData = (data: unknown) => {
    if (data === null || typeof data !== "object") return;
    const d = data as { party?: unknown; audits?: unknown };
    add(d.party);
    if (Array.isArray(d.audits)) for (const p of d.audits.slice(0, partiesPerRecordMax)) add(p);
  };
  // An all_of caller reads as the union of its parts (which are never all_of themselves).
  const callers = caller.policy === "all_of" ? caller.callers : [caller];
  for (const c of callers) {
    if (c.policy === "jwt") add(c.claims.party);
    else if ("data" in c) fromData(c.data);
  }
  return [...out];
}
