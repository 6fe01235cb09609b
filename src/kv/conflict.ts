import { assert } from "../util/assert.ts";
import { CoterieError } from "../util/errors.ts";
import type { Bounds } from "./merge.ts";
import type { PendingWrites } from "./state.ts";

/**
 * What a transaction read from its snapshot: point keys (present or absent) and the key intervals
 * it iterated (so a key inserted into an iterated interval — a phantom — is a conflict too). The
 * maps are made on the first read: most transactions of a request (authentication, the service-open
 * check) and many writes read nothing, and a `Map` each was ~5% of a write's allocation.
 */
export class ReadSet {
  private keysByMap: Map<string, Set<string>> | null = null;
  private rangesByMap: Map<string, Bounds[]> | null = null;
  private keyCount = 0;
  private rangeCount = 0;
  private readonly keysMax: number;
  private readonly rangesMax: number;

  constructor(keysMax: number, rangesMax: number) {
    this.keysMax = keysMax;
    this.rangesMax = rangesMax;
  }

  /** Nothing was read: no later write can conflict with this transaction. */
  get empty(): boolean {
    return this.keyCount === 0 && this.rangeCount === 0;
  }

  /** The keys read from `map`, if any. */
  keysOf(map: string): Set<string> | undefined {
    return this.keysByMap?.get(map);
  }

  /** The intervals iterated in `map`, if any. */
  rangesOf(map: string): Bounds[] | undefined {
    return this.rangesByMap?.get(map);
  }

  addKey(map: string, key: string): void {
    const keys = (this.keysByMap ??= new Map());
    let set = keys.get(map);
    if (set === undefined) keys.set(map, (set = new Set()));
    if (set.has(key)) return;
    if (this.keyCount === this.keysMax) {
      throw new CoterieError("COTERIE_ERR_KV_LIMIT", `a transaction may read at most ${this.keysMax} keys`);
    }
    set.add(key);
    this.keyCount++;
  }

  addRange(map: string, bounds: Bounds): void {
    if (this.rangeCount === this.rangesMax) {
      throw new CoterieError(
        "COTERIE_ERR_KV_LIMIT",
        `a transaction may read at most ${this.rangesMax} ranges`,
      );
    }
    const ranges = (this.rangesByMap ??= new Map());
    let list = ranges.get(map);
    if (list === undefined) ranges.set(map, (list = []));
    list.push(bounds);
    this.rangeCount++;
  }
}

/**
 * The keys one version wrote: map name, then that map's keys (sorted latin1) — a single key as the
 * string itself, several as an array — repeated per map. One flat array per version: the log holds
 * `windowVersions` of them, seconds of writes under load: long enough to outlive young-generation
 * collections, so each is promoted and then left for the old generation's collector. A Map and an
 * object per version cost ~400 B of promotion per write (docs/performance.md, "Memory"); this is
 * one small array, plus a keys array only when a map got several keys.
 */
type WrittenKeys = Array<string | readonly string[]>;

/** Index of the first element of sorted `keys` that is >= `lo` (binary search, no recursion). */
function lowerBound(keys: readonly string[], lo: string): number {
  let low = 0;
  let high = keys.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if ((keys[mid] as string) < lo) low = mid + 1;
    else high = mid;
  }
  return low;
}

function intersects(written: string | readonly string[], reads: ReadSet, map: string): boolean {
  const keys = reads.keysOf(map);
  const ranges = reads.rangesOf(map);
  if (typeof written === "string") {
    if (keys?.has(written)) return true;
    if (ranges === undefined) return false;
    for (const { lo, hi } of ranges) {
      if ((lo === undefined || written >= lo) && (hi === undefined || written < hi)) return true;
    }
    return false;
  }
  if (keys !== undefined) for (const key of written) if (keys.has(key)) return true;
  if (ranges === undefined) return false;
  for (const { lo, hi } of ranges) {
    const first = lo === undefined ? 0 : lowerBound(written, lo);
    if (first < written.length && (hi === undefined || (written[first] as string) < hi)) return true;
  }
  return false;
}

/**
 * The keys written by the most recent versions (at most `windowVersions` of them), for the
 * optimistic-concurrency check at commit. Versions in the log are contiguous and ascending:
 * `entries[i]` is version `lastVersion - (entries.length - 1 - i)`.
 */
export class ConflictLog {
  private entries: WrittenKeys[] = [];
  private head = 0;
  /** The version of the last entry (meaningless while the log is empty). */
  private lastVersion = 0;
  private readonly windowVersions: number;

  constructor(windowVersions: number) {
    this.windowVersions = windowVersions;
  }

  private get empty(): boolean {
    return this.entries.length === this.head;
  }

  /** The version of the oldest entry held (the log must not be empty). */
  private get oldestVersion(): number {
    return this.lastVersion - (this.entries.length - 1 - this.head);
  }

  record(version: number, writes: ReadonlyMap<string, PendingWrites>): void {
    assert(this.empty || this.lastVersion + 1 === version, "conflict log versions are contiguous");
    const written: WrittenKeys = [];
    for (const [name, pending] of writes) {
      const keys = pending.keysArray();
      written.push(name, keys.length === 1 ? (keys[0] as string) : keys);
    }
    this.entries.push(written);
    this.lastVersion = version;
    if (this.entries.length - this.head > this.windowVersions) this.head++;
    if (this.head >= this.windowVersions) {
      this.entries.splice(0, this.head);
      this.head = 0;
    }
  }

  /** Forgets every version: until the next `record`, every transaction with an older snapshot conflicts. */
  clear(): void {
    if (this.empty) return;
    this.entries = [];
    this.head = 0;
  }

  /** Forgets versions above `version` (after a rollback). */
  truncateAbove(version: number): void {
    while (!this.empty && this.lastVersion > version) {
      this.entries.pop();
      this.lastVersion--;
    }
    if (this.empty) {
      this.entries = [];
      this.head = 0;
    }
  }

  /**
   * True iff some version in (readVersion, currentVersion] wrote a key or into a range that
   * `reads` holds — or if that history has left the window (then we cannot tell, so we say yes).
   */
  conflicts(reads: ReadSet, readVersion: number, currentVersion: number): boolean {
    if (readVersion === currentVersion) return false;
    if (this.empty || this.oldestVersion > readVersion + 1) return true;
    // A transaction that read nothing cannot be invalidated by what others wrote; without this,
    // k writes released together behind a signature would each scan all those before it (k²).
    if (reads.empty) return false;
    assert(this.lastVersion === currentVersion, "conflict log is current");
    for (let i = this.head + (readVersion + 1 - this.oldestVersion); i < this.entries.length; i++) {
      const written = this.entries[i] as WrittenKeys;
      for (let m = 0; m < written.length; m += 2) {
        if (intersects(written[m + 1] as string | readonly string[], reads, written[m] as string))
          return true;
      }
    }
    return false;
  }
}
