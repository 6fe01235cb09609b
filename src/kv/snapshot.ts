import { bytesToLatin1, checkBytes, latin1ToBytes } from "./bytes.ts";
import { mergedRange } from "./merge.ts";
import type { VersionedEntry } from "./restore.ts";
import type { State } from "./state.ts";

/** Bounds and direction of `Snapshot.entries`: `from` inclusive, `to` exclusive. */
export type SnapshotEntriesOptions = { from?: Uint8Array; to?: Uint8Array; reverse?: boolean };

/**
 * An immutable read view of every map at one version, for historical reads and for writing
 * snapshots. It records nothing and never conflicts; it stays valid after rollback or compaction.
 */
export class Snapshot {
  private readonly state: State;

  /** @internal Made by `Store.snapshotAt`. */
  constructor(state: State) {
    this.state = state;
  }

  get version(): number {
    return this.state.version;
  }

  /** Names of the non-empty maps, in code-unit order. */
  mapNames(): string[] {
    return this.state.maps.keysArray();
  }

  /** Number of entries in `map`. */
  size(map: string): number {
    return this.state.maps.get(map)?.size ?? 0;
  }

  get(map: string, key: Uint8Array): Uint8Array | undefined {
    checkBytes(key, "key");
    const entry = this.state.maps.get(map)?.get(bytesToLatin1(key));
    return entry === undefined ? undefined : latin1ToBytes(entry.value);
  }

  has(map: string, key: Uint8Array): boolean {
    checkBytes(key, "key");
    return this.state.maps.get(map)?.has(bytesToLatin1(key)) ?? false;
  }

  /** The version that last wrote `key`, or `undefined` if it is absent. */
  versionOf(map: string, key: Uint8Array): number | undefined {
    checkBytes(key, "key");
    return this.state.maps.get(map)?.get(bytesToLatin1(key))?.version;
  }

  /** Entries of `map` with the version that last wrote each, in key order (for writing snapshots). */
  *versionedEntries(map: string): Generator<VersionedEntry> {
    const tree = this.state.maps.get(map);
    if (tree === undefined) return;
    for (const [key, entry] of tree.entries()) {
      yield { key: latin1ToBytes(key), value: latin1ToBytes(entry.value), version: entry.version };
    }
  }

  /**
   * `versionedEntries` without a copy per entry: each key with its entry as the store holds them,
   * key and value latin1 strings (one char per byte). For the snapshot writer, which streams
   * millions of entries into file chunks (the copies cost it 8x the walk). Strings are immutable and
   * so is the snapshot: the iteration may be resumed across event-loop turns while the store moves on.
   */
  *versionedEntriesLatin1(
    map: string,
  ): Generator<readonly [key: string, entry: { readonly value: string; readonly version: number }]> {
    const tree = this.state.maps.get(map);
    if (tree !== undefined) yield* tree.entries();
  }

  /** Iterates the entries of `map` in key order (bounded by the map's size). */
  *entries(map: string, options: SnapshotEntriesOptions = {}): Generator<[Uint8Array, Uint8Array]> {
    if (options.from !== undefined) checkBytes(options.from, "from");
    if (options.to !== undefined) checkBytes(options.to, "to");
    const bounds = {
      lo: options.from === undefined ? undefined : bytesToLatin1(options.from),
      hi: options.to === undefined ? undefined : bytesToLatin1(options.to),
    };
    for (const [key, value] of mergedRange(
      this.state.maps.get(map),
      undefined,
      bounds,
      options.reverse === true,
    )) {
      yield [latin1ToBytes(key), latin1ToBytes(value)];
    }
  }
}
