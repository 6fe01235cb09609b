import { assert } from "../util/assert.ts";
import { CoterieError } from "../util/errors.ts";
import { newTree } from "./btree.ts";
import { bytesToLatin1, checkBytes, latin1Copy, latin1ToBytes } from "./bytes.ts";
import type { Codec } from "./codecs.ts";
import { ReadSet } from "./conflict.ts";
import { type CursorQuery, decodeCursor, encodeCursor } from "./cursor.ts";
import { type Bounds, mergedRange } from "./merge.ts";
import { checkMapName, isReservedMapName } from "./names.ts";
import type { StoreLimits } from "./options.ts";
import type { MapTree, PendingWrites, State } from "./state.ts";
import { TypedMap } from "./typed.ts";
import type { RangeOptions, RangeResult, WriteSet } from "./types.ts";
import { toWriteSet } from "./writeset.ts";

/** The `Tx.contentToken` of every map that has no entries. */
export const EMPTY_MAP_TOKEN: object = Object.freeze({});

/** Options of `Store.beginTx`. */
export type TxOptions = {
  /** May this transaction write maps with a reserved prefix? Default true; apps get false. */
  reservedWrites?: boolean;
};

/**
 * A transaction: reads from an immutable snapshot (plus its own writes), buffers its writes, and
 * records what it read so `Store.commit` can detect conflicts. Use once; not shareable between
 * concurrent handlers.
 */
export class Tx {
  /** The version of the snapshot this transaction reads. */
  readonly readVersion: number;
  /** @internal The store that made it; commit refuses a stranger's transaction. */
  readonly owner: object;
  /** @internal Rollbacks the store had done when this transaction began. */
  readonly epoch: number;
  /** @internal */
  readonly reads: ReadSet;
  /** @internal Pending writes per map; `null` values are deletes. */
  readonly pending = new Map<string, PendingWrites>();
  private readonly snapshot: State;
  private readonly limits: StoreLimits;
  private readonly reservedWrites: boolean;
  private writeBytes = 0;
  private finished = false;

  /** @internal Made by `Store.beginTx`. */
  constructor(owner: object, snapshot: State, limits: StoreLimits, epoch: number, options: TxOptions = {}) {
    this.owner = owner;
    this.snapshot = snapshot;
    this.readVersion = snapshot.version;
    this.limits = limits;
    this.epoch = epoch;
    this.reservedWrites = options.reservedWrites ?? true;
    this.reads = new ReadSet(limits.readKeysMax, limits.readRangesMax);
  }

  /** The value of `key` in `map`, or `undefined`. Sees this transaction's own writes. */
  get(map: string, key: Uint8Array): Uint8Array | undefined {
    const value = this.lookup(map, this.readKey(map, key));
    return value === undefined ? undefined : latin1ToBytes(value);
  }

  has(map: string, key: Uint8Array): boolean {
    return this.lookup(map, this.readKey(map, key)) !== undefined;
  }

  /**
   * @internal `get` with the key and the value in the store's latin1 form (one char per byte):
   * for `TypedMap`, whose codecs make that form without bytes. Records the same read.
   */
  getLatin1(map: string, key: string): string | undefined {
    this.checkOpen();
    checkMapName(map);
    if (typeof key !== "string") throw new TypeError("key must be a latin1 string");
    return this.lookup(map, key);
  }

  /** The version that last wrote `key` in the snapshot (ignores this transaction's own writes). */
  versionOf(map: string, key: Uint8Array): number | undefined {
    const k = this.readKey(map, key);
    this.reads.addKey(map, k);
    return this.snapshot.maps.get(map)?.get(k)?.version;
  }

  /**
   * An opaque token for the content of `map` in this transaction's snapshot (not its own writes):
   * two snapshots with the same token (===) hold the same content for that map, because trees are
   * immutable and shared until a commit writes the map. Different tokens may hold equal content.
   * Records no read: it is for caches of derived values (checked with `===` on every use), not for
   * transaction logic. Every map with no entries has the same token.
   */
  contentToken(map: string): object {
    checkMapName(map);
    return this.snapshot.maps.get(map) ?? EMPTY_MAP_TOKEN;
  }

  put(map: string, key: Uint8Array, value: Uint8Array): void {
    checkBytes(value, "value");
    this.checkValueBytes(value.length);
    this.write(map, this.readKey(map, key), bytesToLatin1(value));
  }

  /**
   * @internal `put` with the key and the value in the store's latin1 form (one char per byte):
   * for `TypedMap`, whose codecs make that form without bytes. The same checks and limits; a
   * string with a char above U+00FF holds no bytes and is refused. The store keeps copies, as
   * `put` does: never the caller's strings.
   */
  putLatin1(map: string, key: string, value: string): void {
    this.checkOpen();
    checkMapName(map);
    // One byte per char: a value over the limit is refused before it is copied.
    if (typeof value === "string") this.checkValueBytes(value.length);
    this.write(map, latin1Copy(key, "key"), latin1Copy(value, "value"));
  }

  delete(map: string, key: Uint8Array): void {
    this.write(map, this.readKey(map, key), null);
  }

  /** Entries of `map` in `[from, to)`, at most `limit`, with a cursor iff more may follow. */
  range(map: string, options: RangeOptions): RangeResult {
    const query = this.rangeQuery(map, options);
    const bounds = resumeBounds(query, options.cursor, this.limits.keyBytesMax);
    const entries: Array<[Uint8Array, Uint8Array]> = [];
    let last: string | undefined;
    let next: string | undefined;
    for (const [key, value] of mergedRange(...this.sources(map), bounds, query.reverse)) {
      if (entries.length === options.limit) {
        next = key;
        break;
      }
      entries.push([latin1ToBytes(key), latin1ToBytes(value)]);
      last = key;
    }
    this.reads.addRange(map, observedBounds(bounds, next, query.reverse));
    if (next === undefined || last === undefined) return { entries };
    return { entries, cursor: encodeCursor(query, last) };
  }

  /** Calls `fn(key, value)` for every entry of `map` in key order; `fn` returning `false` stops. */
  forEach(map: string, fn: (key: Uint8Array, value: Uint8Array) => unknown): void {
    this.checkOpen();
    checkMapName(map);
    this.reads.addRange(map, { lo: undefined, hi: undefined });
    const all: Bounds = { lo: undefined, hi: undefined };
    for (const [key, value] of mergedRange(...this.sources(map), all, false)) {
      if (fn(latin1ToBytes(key), latin1ToBytes(value)) === false) return;
    }
  }

  /** Whether this transaction wrote (put or deleted) anything: `writeSet().length > 0`, cheaply. */
  get hasWrites(): boolean {
    return this.pending.size > 0;
  }

  /** This transaction's pending writes in the deterministic `WriteSet` form. */
  writeSet(): WriteSet {
    return toWriteSet(this.pending);
  }

  /** A typed view of `map` through this transaction. */
  typed<K, V>(map: string, keyCodec: Codec<K>, valueCodec: Codec<V>): TypedMap<K, V> {
    checkMapName(map);
    return new TypedMap(this, map, keyCodec, valueCodec);
  }

  /** True once committed; a finished transaction refuses further use. */
  get isFinished(): boolean {
    return this.finished;
  }

  /** @internal Called by `Store.commit` exactly once. */
  finish(): void {
    assert(!this.finished, "a transaction is committed at most once");
    this.finished = true;
  }

  private checkOpen(): void {
    if (this.finished) throw new TypeError("this transaction has already been committed");
  }

  private readKey(map: string, key: Uint8Array): string {
    this.checkOpen();
    checkMapName(map);
    checkBytes(key, "key");
    return bytesToLatin1(key);
  }

  /** The latin1 value visible to this transaction, recording a snapshot read when it needs one. */
  private lookup(map: string, k: string): string | undefined {
    const own = this.pending.get(map)?.get(k);
    if (own !== undefined) return own ?? undefined;
    this.reads.addKey(map, k);
    return this.snapshot.maps.get(map)?.get(k)?.value;
  }

  private checkValueBytes(bytes: number): void {
    if (bytes > this.limits.valueBytesMax) {
      throw limitError(`value has ${bytes} bytes; the limit is ${this.limits.valueBytesMax}`);
    }
  }

  /** Writes `value` (null: a delete) at the latin1 key `k` of `map`, within the limits. */
  private write(map: string, k: string, value: string | null): void {
    if (!this.reservedWrites && isReservedMapName(map)) {
      throw new CoterieError("COTERIE_ERR_KV_RESERVED_MAP", `map ${JSON.stringify(map)} is reserved`);
    }
    if (k.length > this.limits.keyBytesMax) {
      throw limitError(`key has ${k.length} bytes; the limit is ${this.limits.keyBytesMax}`);
    }
    let tree = this.pending.get(map);
    const previous = tree?.get(k);
    const before = previous === undefined ? 0 : k.length + (previous?.length ?? 0);
    const writeBytes = this.writeBytes - before + k.length + (value?.length ?? 0);
    if (writeBytes > this.limits.writeSetBytesMax) {
      throw limitError(
        `the write set would have ${writeBytes} bytes; the limit is ${this.limits.writeSetBytesMax}`,
      );
    }
    if (tree === undefined) this.pending.set(map, (tree = newTree<string | null>()));
    tree.set(k, value);
    this.writeBytes = writeBytes;
  }

  /** The snapshot tree and a frozen copy (O(1) clone) of the pending writes of `map`. */
  private sources(map: string): [MapTree | undefined, PendingWrites | undefined] {
    return [this.snapshot.maps.get(map), this.pending.get(map)?.clone()];
  }

  private rangeQuery(map: string, options: RangeOptions): CursorQuery {
    this.checkOpen();
    checkMapName(map);
    const { limit } = options;
    if (!Number.isSafeInteger(limit) || limit < 1) {
      throw new CoterieError("COTERIE_ERR_INVALID_INPUT", "range limit must be a positive integer");
    }
    if (limit > this.limits.rangeLimitMax) {
      throw limitError(`range limit ${limit} exceeds the maximum ${this.limits.rangeLimitMax}`);
    }
    if (options.from !== undefined) checkBytes(options.from, "range from");
    if (options.to !== undefined) checkBytes(options.to, "range to");
    const from = options.from === undefined ? undefined : bytesToLatin1(options.from);
    const to = options.to === undefined ? undefined : bytesToLatin1(options.to);
    return { map, from, to, reverse: options.reverse === true };
  }
}

function limitError(message: string): CoterieError {
  return new CoterieError("COTERIE_ERR_KV_LIMIT", message);
}

/** The bounds still to read: the query's, narrowed past the cursor's position. */
function resumeBounds(query: CursorQuery, cursor: string | undefined, keyBytesMax: number): Bounds {
  if (cursor === undefined) return { lo: query.from, hi: query.to };
  const position = decodeCursor(cursor, query, keyBytesMax);
  // "\0" appended gives the smallest key greater than `position`.
  return query.reverse ? { lo: query.from, hi: position } : { lo: `${position}\0`, hi: query.to };
}

/** The interval whose content this page depended on: up to and including the peeked next key. */
function observedBounds(bounds: Bounds, next: string | undefined, reverse: boolean): Bounds {
  if (next === undefined) return bounds;
  return reverse ? { lo: next, hi: bounds.hi } : { lo: bounds.lo, hi: `${next}\0` };
}
