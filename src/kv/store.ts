import { assert } from "../util/assert.ts";
import { CoterieError } from "../util/errors.ts";
import { ConflictLog } from "./conflict.ts";
import { checkMapName } from "./names.ts";
import { type StoreLimits, type StoreOptions, validateStoreOptions } from "./options.ts";
import { type SnapshotMap, stateFromSnapshot } from "./restore.ts";
import { Snapshot } from "./snapshot.ts";
import { emptyState, nextState, type PendingWrites, type State } from "./state.ts";
import { EMPTY_MAP_TOKEN, Tx, type TxOptions } from "./tx.ts";
import type { CommitResult, WriteSet } from "./types.ts";
import { fromWriteSet, toWriteSet } from "./writeset.ts";

/** Parameters of `Store.runTransaction`. */
export type RunTransactionOptions = TxOptions & {
  /** Attempts before giving up with COTERIE_ERR_KV_CONFLICT (at least 1). */
  attemptsMax: number;
};

/** Rollbacks remembered for telling whether a running transaction's snapshot was discarded. */
const rollbacksRememberedMax = 64;

/**
 * The in-memory transactional store. Versions are contiguous (0 is empty; each committed write
 * transaction or applied write set makes the next one, which is the ledger seqno). Every retained
 * version is an immutable `State`; `rollback` and `snapshotAt` pick one. No I/O, synchronous.
 */
export class Store {
  readonly limits: StoreLimits;
  /** `states[i]` is the state at `compactedVersion + i`; the last one is current. */
  private states: State[] = [emptyState];
  private compacted = 0;
  private readonly conflictLog: ConflictLog;
  /** Targets of recent rollbacks; index = rollback number, offset by `rollbacksForgotten`. */
  private rollbackTargets: number[] = [];
  private rollbacksForgotten = 0;

  constructor(options?: StoreOptions) {
    this.limits = validateStoreOptions(options);
    this.conflictLog = new ConflictLog(this.limits.conflictWindowVersions);
  }

  /**
   * A store whose latest (and compacted) version is `version`, holding the given maps — for
   * starting from a snapshot (what `Snapshot.mapNames` and `versionedEntries` produced).
   */
  static fromSnapshot(version: number, maps: Iterable<SnapshotMap>, options?: StoreOptions): Store {
    const store = new Store(options);
    store.states = [stateFromSnapshot(version, maps)];
    store.compacted = version;
    return store;
  }

  /** The latest applied version. */
  get version(): number {
    return this.current.version;
  }

  /** Versions at or below this are final: `rollback` may not go below it. */
  get compactedVersion(): number {
    return this.compacted;
  }

  private get current(): State {
    return this.states[this.states.length - 1] as State;
  }

  /**
   * `beginTx().contentToken(map)` without making a transaction: callers that cache something
   * decoded from a map (asked on every request) compare tokens first.
   */
  contentToken(map: string): object {
    checkMapName(map);
    return this.current.maps.get(map) ?? EMPTY_MAP_TOKEN;
  }

  /** A transaction reading the latest version. */
  beginTx(options?: TxOptions): Tx {
    const epoch = this.rollbacksForgotten + this.rollbackTargets.length;
    return new Tx(this, this.current, this.limits, epoch, options);
  }

  /**
   * Validates and applies `tx` synchronously and atomically: "conflict" if a version after its
   * snapshot wrote anything it read; "read-only" if it wrote nothing; else "ok" at the next version.
   */
  commit(tx: Tx): CommitResult {
    assert(tx.owner === this, "commit: the transaction belongs to another store");
    tx.finish();
    if (tx.pending.size === 0) return { status: "read-only" };
    if (this.snapshotDiscarded(tx) || this.conflictLog.conflicts(tx.reads, tx.readVersion, this.version)) {
      return { status: "conflict" };
    }
    const version = this.apply(tx.pending);
    return { status: "ok", version, writeSet: toWriteSet(tx.pending) };
  }

  /**
   * Applies a write set produced elsewhere (backup, replay) as `version`, which must be next. It
   * empties the conflict log instead of recording the keys: a store fed this way (a backup, a node
   * replaying its ledger) runs no writing transactions, and a transaction begun before it then
   * conflicts at commit (an empty log cannot tell), as one older than the window does.
   */
  applyWriteSet(writeSet: WriteSet, version: number): void {
    assert(version === this.version + 1, () => `applyWriteSet: version ${version} follows ${this.version}`);
    this.apply(fromWriteSet(writeSet), false);
  }

  /** Discards every version above `version` (an unsigned suffix a new leader does not have). */
  rollback(version: number): void {
    assert(Number.isSafeInteger(version), "rollback: version is an integer");
    assert(version >= this.compacted, () => `rollback: ${version} is below compacted ${this.compacted}`);
    assert(version <= this.version, () => `rollback: ${version} is above current ${this.version}`);
    if (version === this.version) return;
    this.states.length = version - this.compacted + 1;
    this.conflictLog.truncateAbove(version);
    this.rollbackTargets.push(version);
    if (this.rollbackTargets.length > rollbacksRememberedMax) {
      this.rollbackTargets.shift();
      this.rollbacksForgotten++;
    }
  }

  /** Declares versions at or below `version` final, freeing what rollback would have needed. */
  compact(version: number): void {
    assert(Number.isSafeInteger(version), "compact: version is an integer");
    assert(version >= this.compacted, () => `compact: ${version} is below compacted ${this.compacted}`);
    assert(version <= this.version, () => `compact: ${version} is above current ${this.version}`);
    this.states.splice(0, version - this.compacted);
    this.compacted = version;
  }

  /** An immutable read view at `version` (default: latest); it must be retained. */
  snapshotAt(version: number = this.version): Snapshot {
    if (!Number.isSafeInteger(version) || version < this.compacted || version > this.version) {
      throw new RangeError(`snapshotAt: version ${version} is not in [${this.compacted}, ${this.version}]`);
    }
    return new Snapshot(this.states[version - this.compacted] as State);
  }

  /**
   * Runs `fn` in a fresh transaction and commits it, re-running on conflict up to `attemptsMax`
   * times. Nothing is awaited between `fn` settling and `commit`, so no other commit can slip in.
   * If `fn` throws, nothing is applied and the error propagates.
   */
  async runTransaction<T>(
    fn: (tx: Tx) => T | Promise<T>,
    options: RunTransactionOptions,
  ): Promise<{ result: T; commit: CommitResult }> {
    const { attemptsMax, ...txOptions } = options;
    if (!Number.isSafeInteger(attemptsMax) || attemptsMax < 1) {
      throw new RangeError("runTransaction: attemptsMax must be a positive integer");
    }
    for (let attempt = 1; attempt <= attemptsMax; attempt++) {
      const tx = this.beginTx(txOptions);
      const returned = fn(tx);
      const result = returned instanceof Promise ? await returned : returned;
      const commit = this.commit(tx);
      if (commit.status !== "conflict") return { result, commit };
    }
    throw new CoterieError("COTERIE_ERR_KV_CONFLICT", `transaction conflicted ${attemptsMax} times`, {
      details: { attempts: attemptsMax },
    });
  }

  private apply(writes: ReadonlyMap<string, PendingWrites>, logKeys = true): number {
    const retained = this.states.length - 1;
    assert(
      retained < this.limits.versionsRetainedMax,
      () => `versionsRetainedMax (${this.limits.versionsRetainedMax}) reached: compact() committed versions`,
    );
    const state = nextState(this.current, writes);
    this.states.push(state);
    if (logKeys) this.conflictLog.record(state.version, writes);
    else this.conflictLog.clear();
    return state.version;
  }

  /** Did a rollback since `tx` began discard a version its snapshot includes? */
  private snapshotDiscarded(tx: Tx): boolean {
    if (tx.readVersion > this.version) return true;
    const first = tx.epoch - this.rollbacksForgotten;
    if (first < 0) return true;
    for (let i = first; i < this.rollbackTargets.length; i++) {
      if ((this.rollbackTargets[i] as number) < tx.readVersion) return true;
    }
    return false;
  }
}
