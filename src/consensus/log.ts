import { assert } from "../util/assert.ts";
import { ConfigurationHistory } from "./configurations.ts";
import { entryBytes, type Storage } from "./storage.ts";
import type { Entry, NodeId, Snapshot } from "./types.ts";

/**
 * The core's view of the log: the caller's persisted Storage, adjusted by what this node has decided
 * but the caller not yet persisted (a snapshot to install, a rollback, unstable entries).
 *
 * Layout: [storage (or pendingSnapshot) up to stableLast()] ++ unstable.
 * Invariants: unstable[k].index == stableLast() + 1 + k; committed <= lastIndex(); committed is 0,
 * a snapshot index or the index of a signature entry; `signatures` holds, sorted, the indexes of
 * signature entries at or above `committed`; rollbacks never go below `committed`.
 */
export class RaftLog {
  readonly storage: Storage;
  unstable: Entry[] = [];
  pendingSnapshot: Snapshot | null = null;
  rollbackTo: number | null = null;
  committed: number;
  /** Highest index handed to the caller as committed (or covered by an installed snapshot). */
  emitted: number;
  readonly configurations: ConfigurationHistory;
  #signatures: number[] = [];

  constructor(storage: Storage, initialConfiguration: readonly NodeId[], applied: number | null) {
    this.storage = storage;
    const snapshot = storage.snapshot();
    const base = storage.firstIndex() - 1;
    assert(snapshot.meta.index === base, "storage snapshot index is firstIndex - 1");
    const members = base > 0 ? snapshot.meta.configuration : initialConfiguration;
    this.configurations = new ConfigurationHistory({ index: base, members });
    this.committed = Math.max(storage.hardState().commit, base);
    assert(this.committed <= storage.lastIndex(), "persisted commit index beyond the persisted log");
    this.emitted = applied ?? base;
    assert(
      this.emitted >= base && this.emitted <= this.committed,
      () => `applied index ${applied} out of range`,
    );
    this.#scanPersisted(base + 1);
    this.configurations.commit(this.committed);
  }

  /** Rebuilds the derived state (configurations, signature indexes) from the persisted entries. */
  #scanPersisted(from: number): void {
    const last = this.storage.lastIndex();
    for (let lo = from, rounds = 0; lo <= last; rounds++) {
      assert(rounds <= last, "scan makes progress");
      const batch = this.storage.entries(lo, last + 1, 4 * 1024 * 1024);
      for (const entry of batch) this.#noteAppended(entry);
      lo += batch.length;
    }
  }

  #noteAppended(entry: Entry): void {
    if (entry.kind === "signature" && entry.index >= this.committed) this.#signatures.push(entry.index);
    if (entry.kind === "reconfiguration") this.configurations.add(entry.index, entry.configuration!);
  }

  stableLast(): number {
    if (this.pendingSnapshot !== null) return this.pendingSnapshot.meta.index;
    const last = this.storage.lastIndex();
    return this.rollbackTo === null ? last : Math.min(last, this.rollbackTo);
  }
  firstIndex(): number {
    return this.pendingSnapshot !== null ? this.pendingSnapshot.meta.index + 1 : this.storage.firstIndex();
  }
  lastIndex(): number {
    return this.stableLast() + this.unstable.length;
  }
  lastTerm(): number {
    return this.term(this.lastIndex())!;
  }

  /** The term at `index`, or undefined when compacted away or beyond the log. */
  term(index: number): number | undefined {
    const stable = this.stableLast();
    if (index > stable) return this.unstable[index - stable - 1]?.term;
    if (this.pendingSnapshot !== null) {
      return index === this.pendingSnapshot.meta.index ? this.pendingSnapshot.meta.term : undefined;
    }
    if (index < this.storage.firstIndex() - 1) return undefined;
    return this.storage.term(index);
  }

  matchTerm(index: number, term: number): boolean {
    return this.term(index) === term;
  }

  /** True when a log ending at (lastIndex, lastTerm) is at least as up to date as ours (§5.4.1). */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const ourTerm = this.lastTerm();
    return lastTerm > ourTerm || (lastTerm === ourTerm && lastIndex >= this.lastIndex());
  }

  /** Entries [lo, hi), cut after `bytesMax` bytes but at least one. Requires firstIndex() <= lo. */
  slice(lo: number, hi: number, bytesMax: number): Entry[] {
    assert(lo >= this.firstIndex() && hi <= this.lastIndex() + 1, () => `slice [${lo}, ${hi}) out of range`);
    const out: Entry[] = [];
    const stable = this.stableLast();
    let bytes = 0;
    if (lo <= stable && lo < hi) {
      for (const e of this.storage.entries(lo, Math.min(hi, stable + 1), bytesMax)) {
        bytes += entryBytes(e);
        out.push(e);
      }
      if (out[out.length - 1]!.index < Math.min(hi, stable + 1) - 1) return out;
    }
    for (let i = Math.max(lo, stable + 1); i < hi; i++) {
      const e = this.unstable[i - stable - 1]!;
      bytes += entryBytes(e);
      if (out.length > 0 && bytes > bytesMax) break;
      out.push(e);
    }
    return out;
  }

  /** Deletes every entry above `index` (never a committed one), remembering to tell the caller. */
  truncateAfter(index: number): void {
    assert(index >= this.committed, () => `rollback to ${index} below commit ${this.committed}`);
    const stable = this.stableLast();
    if (index < stable) {
      this.rollbackTo = index;
      this.unstable = [];
    } else {
      this.unstable = this.unstable.slice(0, index - stable);
    }
    while (this.#signatures.length > 0 && this.#signatures[this.#signatures.length - 1]! > index) {
      this.#signatures.pop();
    }
    this.configurations.truncateAfter(index);
  }

  /** Appends entries that directly follow index `entries[0].index - 1`, truncating what is after. */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const first = entries[0]!.index;
    assert(first > this.committed, () => `append at ${first} overwrites commit ${this.committed}`);
    assert(first <= this.lastIndex() + 1, () => `append at ${first} leaves a gap after ${this.lastIndex()}`);
    if (first <= this.lastIndex()) this.truncateAfter(first - 1);
    let previous = this.term(first - 1) ?? 0;
    for (const [k, entry] of entries.entries()) {
      assert(entry.index === first + k, "appended entries are contiguous");
      assert(entry.term >= previous, "terms never decrease along the log");
      assert(
        entry.kind !== "reconfiguration" || (entry.configuration?.length ?? 0) > 0,
        "reconfiguration has members",
      );
      previous = entry.term;
      this.unstable.push(entry);
      this.#noteAppended(entry);
    }
  }

  /**
   * Follower side of AppendEntries: appends `entries` after (prevIndex, prevTerm) if the logs match
   * there. Returns the last index known to match the leader, or null on mismatch.
   */
  maybeAppend(prevIndex: number, prevTerm: number, entries: readonly Entry[]): number | null {
    if (!this.matchTerm(prevIndex, prevTerm)) return null;
    const lastNew = prevIndex + entries.length;
    for (const [k, entry] of entries.entries()) {
      assert(entry.index === prevIndex + 1 + k, "leader sent non-contiguous entries");
      if (this.term(entry.index) === entry.term) continue;
      assert(entry.index > this.committed, () => `leader conflicts with committed entry ${entry.index}`);
      this.append(entries.slice(k));
      break;
    }
    return lastNew;
  }

  /** The largest signature index at or below `index` that is at or above the commit index. */
  signatureAtOrBelow(index: number): number {
    let best = this.committed;
    for (const s of this.#signatures) {
      if (s > index) break;
      best = s;
    }
    return best;
  }
  lastSignature(): number {
    return Math.max(this.committed, this.#signatures[this.#signatures.length - 1] ?? 0);
  }
  isCommitPoint(index: number): boolean {
    return index === this.firstIndex() - 1 || this.#signatures.includes(index);
  }

  commitTo(index: number): void {
    if (index <= this.committed) return;
    assert(index <= this.lastIndex(), () => `commit ${index} beyond last index ${this.lastIndex()}`);
    assert(this.#signatures.includes(index), () => `commit ${index} is not at a signature entry`);
    this.committed = index;
    while (this.#signatures.length > 0 && this.#signatures[0]! < index) this.#signatures.shift();
    this.configurations.commit(index);
  }

  /** Replaces the whole log with a snapshot received from the leader. */
  restore(snapshot: Snapshot): void {
    assert(snapshot.meta.index > this.committed, "snapshot older than the commit index");
    this.pendingSnapshot = snapshot;
    this.rollbackTo = null;
    this.unstable = [];
    this.committed = snapshot.meta.index;
    this.emitted = snapshot.meta.index;
    this.#signatures = [];
    this.configurations.reset({ index: snapshot.meta.index, members: snapshot.meta.configuration });
  }
}
