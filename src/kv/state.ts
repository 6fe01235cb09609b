import { assert } from "../util/assert.ts";
import { type BTree, newTree } from "./btree.ts";

/** A stored value (latin1 string) and the version that wrote it. Never mutated. */
export class Entry {
  readonly value: string;
  readonly version: number;
  constructor(value: string, version: number) {
    this.value = value;
    this.version = version;
  }
}

/** One map's entries keyed by latin1 key strings. Trees held by a `State` are never mutated. */
export type MapTree = BTree<string, Entry>;

/** Writes to one map keyed by latin1 key: a latin1 value, or `null` for a delete. */
export type PendingWrites = BTree<string, string | null>;

/**
 * Map name → tree of one version. A copy-on-write tree too (not a `Map`): a commit clones it in
 * O(1) and copies only the path to the maps it wrote, where copying a `Map` of every map (tens of
 * framework tables) cost ~2 KB of garbage per commit (docs/performance.md, "Memory").
 */
export type MapsTree = BTree<string, MapTree>;

/**
 * The immutable content of every map at one version. A map exists iff it has an entry, so two
 * stores that applied the same write sets have the same `maps` keys.
 */
export class State {
  readonly version: number;
  /** Never mutated: read it with `get`, `keysArray`; a new version clones it. */
  readonly maps: MapsTree;
  constructor(version: number, maps: MapsTree) {
    this.version = version;
    this.maps = maps;
  }
}

/** The state before the first write. */
export const emptyState = new State(0, newTree<MapTree>());

/**
 * Builds the state at `prev.version + 1` from `prev` and the writes of one transaction, without
 * touching `prev`: each written map is an O(1) copy-on-write clone, so only the paths to changed
 * keys are copied.
 */
export function nextState(prev: State, writes: ReadonlyMap<string, PendingWrites>): State {
  const version = prev.version + 1;
  const maps = prev.maps.clone();
  for (const [name, pending] of writes) {
    const base = prev.maps.get(name);
    const tree: MapTree = base === undefined ? newTree<Entry>() : base.clone();
    // Plain loops, no closure per commit: V8 drops a closure's optimised code once no closure
    // holds it, so one made per call was compiled again after every major GC.
    const keys = pending.keysArray();
    const values = pending.valuesArray();
    for (let i = 0; i < keys.length; i++) {
      const value = values[i] as string | null;
      if (value === null) tree.delete(keys[i] as string);
      else tree.set(keys[i] as string, new Entry(value, version));
    }
    if (tree.size === 0) maps.delete(name);
    else maps.set(name, tree);
  }
  assert(version === prev.version + 1, "versions are contiguous");
  return new State(version, maps);
}
