import { assert } from "../util/assert.ts";
import type { Entry, HardState, NodeId, Snapshot } from "./types.ts";

/**
 * The persisted log as the core reads it; the caller implements it over its ledger files.
 *
 * Contract:
 * - The log holds entries [firstIndex(), lastIndex()]; everything before firstIndex() is covered by
 *   `snapshot()` (whose meta.index is firstIndex() - 1, or 0 with an empty payload when none).
 *   An empty log has lastIndex() == firstIndex() - 1.
 * - `term(i)` is defined for firstIndex() - 1 <= i <= lastIndex() and returns undefined outside.
 * - `entries(lo, hi, bytesMax)` is half-open [lo, hi) with firstIndex() <= lo < hi <= lastIndex()+1;
 *   it returns a prefix whose payload bytes stay within bytesMax but never fewer than one entry.
 *   The core only asks for ranges it has checked, so an out-of-range request is a bug: throw.
 * - The returned arrays are fresh (the core may keep them); the entries and payloads are shared and
 *   neither side mutates them.
 * - The core calls Storage only synchronously from its verbs; the caller changes it only in step 8
 *   of the Ready contract (and compacts only up to the commit index it has applied).
 */
export type Storage = {
  /** Persisted term, vote and commit index ({0, null, 0} for a fresh node). */
  hardState(): HardState;
  firstIndex(): number;
  lastIndex(): number;
  term(index: number): number | undefined;
  entries(lo: number, hi: number, bytesMax: number): Entry[];
  /** The latest snapshot; its payload is opaque to the core and sent as is to lagging followers. */
  snapshot(): Snapshot;
};

/** Bytes an entry is counted as for every byte limit (payload plus a fixed header estimate). */
export function entryBytes(entry: Entry): number {
  return entry.payload.byteLength + 32;
}

export const emptySnapshot: Snapshot = {
  meta: { index: 0, term: 0, configuration: [] },
  payload: new Uint8Array(0),
};

/**
 * In-memory Storage for tests and the simulator. The simulator treats it as the disk: what is in
 * here survives a crash, everything else is lost.
 */
export class MemoryStorage implements Storage {
  #hard: HardState = { term: 0, vote: null, commit: 0 };
  #snapshot: Snapshot = emptySnapshot;
  /** Entries after the snapshot: #log[k] has index snapshot.meta.index + 1 + k. */
  #log: Entry[] = [];

  hardState(): HardState {
    return { ...this.#hard };
  }
  firstIndex(): number {
    return this.#snapshot.meta.index + 1;
  }
  lastIndex(): number {
    return this.#snapshot.meta.index + this.#log.length;
  }
  term(index: number): number | undefined {
    const base = this.#snapshot.meta.index;
    if (index === base) return this.#snapshot.meta.term;
    return this.#log[index - base - 1]?.term;
  }
  entries(lo: number, hi: number, bytesMax: number): Entry[] {
    assert(
      lo >= this.firstIndex() && lo < hi && hi <= this.lastIndex() + 1,
      () => `entries [${lo}, ${hi}) out of range`,
    );
    const base = this.#snapshot.meta.index + 1;
    const out: Entry[] = [];
    let bytes = 0;
    for (let i = lo; i < hi; i++) {
      const entry = this.#log[i - base]!;
      bytes += entryBytes(entry);
      if (out.length > 0 && bytes > bytesMax) break;
      out.push(entry);
    }
    return out;
  }
  snapshot(): Snapshot {
    return this.#snapshot;
  }

  // -- the caller's side (steps 1-4 of the Ready contract)

  setHardState(hard: HardState): void {
    this.#hard = { ...hard };
  }
  applySnapshot(snapshot: Snapshot): void {
    this.#snapshot = snapshot;
    this.#log = [];
  }
  truncateAfter(index: number): void {
    assert(index >= this.#snapshot.meta.index, "truncation below the snapshot");
    this.#log.length = Math.min(this.#log.length, index - this.#snapshot.meta.index);
  }
  append(entries: readonly Entry[]): void {
    for (const entry of entries) {
      assert(
        entry.index === this.lastIndex() + 1,
        () => `append of ${entry.index} after ${this.lastIndex()}`,
      );
      this.#log.push(entry);
    }
  }
  /** Replaces the log prefix up to `index` (applied, a signature) with a snapshot. */
  compact(index: number, configuration: readonly NodeId[], payload: Uint8Array): void {
    const term = this.term(index);
    assert(term !== undefined && index > this.#snapshot.meta.index, () => `cannot compact at ${index}`);
    this.#log = this.#log.slice(index - this.#snapshot.meta.index);
    this.#snapshot = { meta: { index, term, configuration: [...configuration] }, payload };
  }
  /** Every persisted entry, for the simulator's checks. */
  allEntries(): readonly Entry[] {
    return this.#log;
  }
}
