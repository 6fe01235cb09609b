import { assert } from "../util/assert.ts";
import { CoterieError } from "../util/errors.ts";
import type { Bounds } from "./merge.ts";
import type { PendingWrites } from "./state.ts";

/**
 * What a transaction read from its snapshot: point keys (present or absent) and the key intervals
 * it iterated (so a key inserted into an iterated interval — a phantom — is a conflict too).
 */
export class ReadSet {
  readonly keys = new Map<string, Set<string>>();
  readonly ranges = new Map<string, Bounds[]>();
  private keyCount = 0;
  private rangeCount = 0;
  private readonly keysMax: number;
  private readonly rangesMax: number;

  constructor(keysMax: number, rangesMax: number) {
    this.keysMax = keysMax;
    this.rangesMax = rangesMax;
  }

  addKey(map: string, key: string): void {
    let set = this.keys.get(map);
    if (set === undefined) this.keys.set(map, (set = new Set()));
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
    let list = this.ranges.get(map);
    if (list === undefined) this.ranges.set(map, (list = []));
    list.push(bounds);
    this.rangeCount++;
  }
}

/** The keys one version wrote, per map, sorted (latin1). */
type WrittenKeys = { version: number; maps: Map<string, string[]> };

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

function intersects(written: readonly string[], reads: ReadSet, map: string): boolean {
  const keys = reads.keys.get(map);
  if (keys !== undefined) for (const key of written) if (keys.has(key)) return true;
  for (const { lo, hi } of reads.ranges.get(map) ?? []) {
    const first = lo === undefined ? 0 : lowerBound(written, lo);
    if (first < written.length && (hi === undefined || (written[first] as string) < hi)) return true;
  }
  return false;
}

/**
 * The keys written by the most recent versions (at most `windowVersions` of them), for the
 * optimistic-concurrency check at commit. Versions in the log are contiguous and ascending.
 */
export class ConflictLog {
  private entries: WrittenKeys[] = [];
  private head = 0;
  private readonly windowVersions: number;

  constructor(windowVersions: number) {
    this.windowVersions = windowVersions;
  }

  record(version: number, writes: ReadonlyMap<string, PendingWrites>): void {
    const last = this.entries.length > this.head ? this.entries.at(-1) : undefined;
    assert(last === undefined || last.version + 1 === version, "conflict log versions are contiguous");
    const maps = new Map<string, string[]>();
    for (const [name, pending] of writes) maps.set(name, pending.keysArray());
    this.entries.push({ version, maps });
    if (this.entries.length - this.head > this.windowVersions) this.head++;
    if (this.head >= this.windowVersions) {
      this.entries.splice(0, this.head);
      this.head = 0;
    }
  }

  /** Forgets versions above `version` (after a rollback). */
  truncateAbove(version: number): void {
    while (this.entries.length > this.head && (this.entries.at(-1) as WrittenKeys).version > version) {
      this.entries.pop();
    }
    if (this.entries.length === this.head) {
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
    const oldest = this.entries[this.head];
    if (oldest === undefined || oldest.version > readVersion + 1) return true;
    assert((this.entries.at(-1) as WrittenKeys).version === currentVersion, "conflict log is current");
    for (let i = this.head + (readVersion + 1 - oldest.version); i < this.entries.length; i++) {
      for (const [map, written] of (this.entries[i] as WrittenKeys).maps) {
        if (intersects(written, reads, map)) return true;
      }
    }
    return false;
  }
}
