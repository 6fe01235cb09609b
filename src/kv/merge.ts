import type { BTree } from "./btree.ts";
import type { Entry, MapTree, PendingWrites } from "./state.ts";

/** Key bounds in latin1: `lo` inclusive, `hi` exclusive; `undefined` means unbounded. */
export type Bounds = { lo: string | undefined; hi: string | undefined };

/** Entries of `tree` inside `bounds`, ascending or descending. */
function* treeRange<V>(tree: BTree<string, V> | undefined, bounds: Bounds, reverse: boolean) {
  if (tree === undefined) return;
  const { lo, hi } = bounds;
  if (!reverse) {
    for (const pair of tree.entries(lo)) {
      if (hi !== undefined && pair[0] >= hi) return;
      yield pair;
    }
    return;
  }
  const pairs = hi === undefined ? tree.entriesReversed() : tree.entriesReversed(hi, undefined, true);
  for (const pair of pairs) {
    if (lo !== undefined && pair[0] < lo) return;
    yield pair;
  }
}

/**
 * The entries a transaction sees in `bounds`: the snapshot's entries overlaid with its own pending
 * writes (a pending `null` hides the key). Yields `[key, value]` latin1 pairs in key order
 * (descending if `reverse`). The caller bounds how many it takes.
 */
export function* mergedRange(
  base: MapTree | undefined,
  pending: PendingWrites | undefined,
  bounds: Bounds,
  reverse: boolean,
): Generator<[string, string]> {
  const left = treeRange<Entry>(base, bounds, reverse);
  const right = treeRange<string | null>(pending, bounds, reverse);
  let l = left.next();
  let r = right.next();
  const before = (a: string, b: string): boolean => (reverse ? a > b : a < b);
  while (!l.done || !r.done) {
    if (r.done || (!l.done && before(l.value[0], r.value[0]))) {
      const [key, entry] = (l as IteratorYieldResult<[string, Entry]>).value;
      yield [key, entry.value];
      l = left.next();
      continue;
    }
    if (!l.done && l.value[0] === r.value[0]) l = left.next();
    const [key, value] = r.value;
    if (value !== null) yield [key, value];
    r = right.next();
  }
}
