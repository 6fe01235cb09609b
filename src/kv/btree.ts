/**
 * The one place that imports `sorted-btree`. The package is CommonJS with an ES-style default
 * export, so under Node's ESM loader the class sits at `.default` of the module object.
 * `clone()` is O(1) copy-on-write: that is what makes a per-version snapshot cheap.
 */
import btreeModule from "sorted-btree";

/**
 * The part of sorted-btree's class we use, spelled out (its CommonJS typings do not expose the
 * generic class as a type under `nodenext`). Ranges of `entries*` are inclusive of the start key.
 */
export interface BTree<K, V> {
  readonly size: number;
  get(key: K): V | undefined;
  has(key: K): boolean;
  set(key: K, value: V): boolean;
  delete(key: K): boolean;
  /** O(1): both trees share nodes and copy them on write. */
  clone(): BTree<K, V>;
  entries(lowestKey?: K): IterableIterator<[K, V]>;
  entriesReversed(highestKey?: K, reusedArray?: undefined, skipHighest?: boolean): IterableIterator<[K, V]>;
  keysArray(): K[];
  valuesArray(): V[];
}

const BTreeConstructor = btreeModule.default;

/** Plain code-unit comparison: on latin1 strings (one char per byte) it is unsigned byte order. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Node size of every tree. A commit copies one node per level on the path to each written key, so
 * smaller nodes copy less per level; 32 measured best for 1-put commits on 1M records (vs 16, 64, 128).
 */
const nodeSizeMax = 32;

/** An empty tree ordered by byte order of latin1-string keys. */
export function newTree<V>(): BTree<string, V> {
  return new BTreeConstructor<string, V>(undefined, compareStrings, nodeSizeMax) as BTree<string, V>;
}
