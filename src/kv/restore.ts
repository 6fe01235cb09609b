import { assert } from "../util/assert.ts";
import { newTree } from "./btree.ts";
import { bytesToLatin1 } from "./bytes.ts";
import { checkMapName } from "./names.ts";
import { Entry, type MapTree, State } from "./state.ts";

/** One entry as a snapshot stores it: with the version that last wrote it. */
export type VersionedEntry = { key: Uint8Array; value: Uint8Array; version: number };

/** One map of a snapshot: its entries in ascending key order. */
export type SnapshotMap = { name: string; entries: Iterable<VersionedEntry> };

/**
 * Builds the state at `version` from a snapshot's maps, asserting the form `Snapshot` produces:
 * maps strictly ascending by name and non-empty, keys strictly ascending, entry versions in
 * [1, version]. Bounded by the input's size.
 */
export function stateFromSnapshot(version: number, snapshotMaps: Iterable<SnapshotMap>): State {
  assert(Number.isSafeInteger(version) && version >= 0, "snapshot version is a non-negative integer");
  const maps = newTree<MapTree>();
  let previousName: string | undefined;
  for (const { name, entries } of snapshotMaps) {
    checkMapName(name);
    assert(previousName === undefined || previousName < name, "snapshot maps are sorted and distinct");
    const tree = newTree<Entry>();
    let previousKey: string | undefined;
    for (const entry of entries) {
      assert(
        entry.key instanceof Uint8Array && entry.value instanceof Uint8Array,
        "snapshot entries are bytes",
      );
      assert(Number.isSafeInteger(entry.version), "snapshot entry version is an integer");
      assert(entry.version >= 1 && entry.version <= version, "snapshot entry version is within the snapshot");
      const key = bytesToLatin1(entry.key);
      assert(previousKey === undefined || previousKey < key, "snapshot keys are sorted and distinct");
      tree.set(key, new Entry(bytesToLatin1(entry.value), entry.version));
      previousKey = key;
    }
    assert(tree.size > 0, "snapshot maps are non-empty");
    maps.set(name, tree);
    previousName = name;
  }
  return new State(version, maps);
}
