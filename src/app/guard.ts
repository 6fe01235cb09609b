/**
 * Puts the policy of confidential tables around a transaction. Every read a handler can make —
 * `get`, `has`, `versionOf`, `range`, `forEach`, `getLatin1`, and typed maps built on them — sees
 * only records the caller may read; a hidden record looks exactly like an absent one. Every write —
 * `put`, `putLatin1`, `delete`, and typed maps built on them — must keep the caller a reader: a
 * handler cannot create a record it could not read, nor overwrite one. A method added to `Tx` that
 * reads or writes records must be shadowed here too (test/unit/app/confidential.test.ts goes
 * through each of them, and fails when a method of `Tx` is neither shadowed nor listed there as
 * touching no record).
 *
 * The guard shadows the transaction's methods on the instance (the store's `Tx` class stays the
 * one type handlers see); reads of other maps go straight through.
 */
import { latin1Bytes, type RangeOptions, type RangeResult, type Tx } from "../kv/index.ts";
import { CoterieError } from "../util/errors.ts";
import { mayReadBytes } from "./confidential.ts";
import type { ConfidentialSpec } from "./types.ts";

/** Raw pages a filtered range reads at most before answering with a cursor. */
export const guardedRangePagesMax = 64;
const cursorPrefix = "cf1.";

export function guardTx(tx: Tx, specs: readonly ConfidentialSpec[], readerParties: readonly string[]): Tx {
  if (specs.length === 0) return tx;
  const byName = new Map(specs.map((s) => [s.name, s]));
  const raw = {
    get: tx.get.bind(tx),
    getLatin1: tx.getLatin1.bind(tx),
    has: tx.has.bind(tx),
    versionOf: tx.versionOf.bind(tx),
    range: tx.range.bind(tx),
    forEach: tx.forEach.bind(tx),
    put: tx.put.bind(tx),
    putLatin1: tx.putLatin1.bind(tx),
    delete: tx.delete.bind(tx),
  };
  const visible = (map: string, value: Uint8Array | undefined): Uint8Array | undefined => {
    const spec = byName.get(map);
    if (value === undefined || spec === undefined) return value;
    return mayReadBytes(spec, value, readerParties) ? value : undefined;
  };
  const forbidden = () =>
    new CoterieError("COTERIE_ERR_FORBIDDEN", "a record you write must name one of your parties as a reader");
  const checkWrite = (map: string, key: Uint8Array, value: Uint8Array | null) => {
    const spec = byName.get(map);
    if (spec === undefined) return;
    const old = raw.get(map, key);
    if (old !== undefined && !mayReadBytes(spec, old, readerParties)) throw forbidden();
    if (value !== null && !mayReadBytes(spec, value, readerParties)) throw forbidden();
  };
  Object.assign(tx, {
    get: (map: string, key: Uint8Array) => visible(map, raw.get(map, key)),
    // What typed maps read through (their codecs' latin1 form): the same policy, on the same bytes.
    getLatin1: (map: string, key: string) => {
      const value = raw.getLatin1(map, key);
      const spec = byName.get(map);
      if (value === undefined || spec === undefined) return value;
      return mayReadBytes(spec, latin1Bytes(value, "value"), readerParties) ? value : undefined;
    },
    has: (map: string, key: Uint8Array) =>
      byName.has(map) ? visible(map, raw.get(map, key)) !== undefined : raw.has(map, key),
    versionOf: (map: string, key: Uint8Array) => {
      const version = raw.versionOf(map, key);
      return byName.has(map) && visible(map, raw.get(map, key)) === undefined ? undefined : version;
    },
    range: (map: string, options: RangeOptions): RangeResult => {
      const spec = byName.get(map);
      return spec === undefined
        ? raw.range(map, options)
        : filteredRange(raw.range, map, options, (v) => mayReadBytes(spec, v, readerParties));
    },
    forEach: (map: string, fn: (key: Uint8Array, value: Uint8Array) => unknown) =>
      raw.forEach(map, (k, v) => (visible(map, v) === undefined ? true : fn(k, v))),
    put: (map: string, key: Uint8Array, value: Uint8Array) => {
      checkWrite(map, key, value);
      raw.put(map, key, value);
    },
    // What typed maps write through: the same policy, on the bytes the latin1 strings hold.
    putLatin1: (map: string, key: string, value: string) => {
      if (byName.has(map)) checkWrite(map, latin1Bytes(key, "key"), latin1Bytes(value, "value"));
      raw.putLatin1(map, key, value);
    },
    delete: (map: string, key: Uint8Array) => {
      checkWrite(map, key, null);
      raw.delete(map, key);
    },
  });
  return tx;
}

type RawRange = (map: string, options: RangeOptions) => RangeResult;

/**
 * A page of readable entries. Our cursor is the last key examined (hidden or not), so a page is
 * never padded with probes past a hidden record; the raw store's cursors are never exposed.
 */
function filteredRange(
  range: RawRange,
  map: string,
  options: RangeOptions,
  readable: (v: Uint8Array) => boolean,
): RangeResult {
  const reverse = options.reverse === true;
  let bounds = resumeFrom(options);
  const entries: Array<[Uint8Array, Uint8Array]> = [];
  let examined: Uint8Array | undefined;
  for (let page = 0; page < guardedRangePagesMax; page++) {
    const got = range(map, { ...bounds, limit: options.limit, ...(reverse ? { reverse: true } : {}) });
    for (let i = 0; i < got.entries.length; i++) {
      const [key, value] = got.entries[i] as [Uint8Array, Uint8Array];
      examined = key;
      if (readable(value)) entries.push([key, value]);
      const more = i < got.entries.length - 1 || got.cursor !== undefined;
      if (entries.length === options.limit)
        return more ? { entries, cursor: encodeCursor(key) } : { entries };
    }
    if (got.cursor === undefined || examined === undefined) return { entries };
    bounds = next(bounds, examined, reverse);
  }
  // Page budget spent: answer what we have; the caller continues from the last key examined.
  return examined === undefined ? { entries } : { entries, cursor: encodeCursor(examined) };
}

type Bounds = { from?: Uint8Array; to?: Uint8Array };

function next(bounds: Bounds, lastKey: Uint8Array, reverse: boolean): Bounds {
  return reverse ? { ...bounds, to: lastKey } : { ...bounds, from: successor(lastKey) };
}

function resumeFrom(options: RangeOptions): Bounds {
  const bounds: Bounds = {};
  if (options.from !== undefined) bounds.from = options.from;
  if (options.to !== undefined) bounds.to = options.to;
  if (options.cursor === undefined) return bounds;
  const position = decodeCursor(options.cursor);
  const inside =
    (options.from === undefined || compare(position, options.from) >= 0) &&
    (options.to === undefined || compare(position, options.to) < 0);
  if (!inside) throw new CoterieError("COTERIE_ERR_KV_INVALID_CURSOR", "the cursor belongs to another query");
  return next(bounds, position, options.reverse === true);
}

/** The smallest key greater than `key`. */
function successor(key: Uint8Array): Uint8Array {
  const out = new Uint8Array(key.length + 1);
  out.set(key);
  return out;
}

function compare(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return (a[i] as number) - (b[i] as number);
  return a.length - b.length;
}

function encodeCursor(key: Uint8Array): string {
  return cursorPrefix + Buffer.from(key).toString("base64url");
}

function decodeCursor(cursor: string): Uint8Array {
  if (typeof cursor !== "string" || !cursor.startsWith(cursorPrefix) || cursor.length > 8192) {
    throw new CoterieError("COTERIE_ERR_KV_INVALID_CURSOR", "malformed cursor");
  }
  return new Uint8Array(Buffer.from(cursor.slice(cursorPrefix.length), "base64url"));
}
