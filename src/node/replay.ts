/**
 * Rebuilds the store from the ledger at start-up, in the same pass that reads the files: every
 * entry is applied (public write set as is, private decrypted with the secret its header names),
 * and history is compacted at each signature. Entries after the last signature were never
 * committed: `finish` discards them from the store and the files. The node then starts a view
 * above every view in the ledger, so (view, seqno) — and the AES-GCM nonce — is never reused.
 * With a snapshot at seqno s, entries up to s only teach secrets, views and signatures; the store
 * is the snapshot's from s on, and only the suffix is applied.
 */
import type { Store, StoreOptions, WriteSet } from "../kv/index.ts";
import { decodeEntry, EntryKind, privateWritesOf, publicWritesOf } from "../ledger/entry.ts";
import type { Ledger, ReplayedEntry } from "../ledger/ledger.ts";
import { snapshotHead, snapshotHeader } from "../ledger/snapshot.ts";
import { assert } from "../util/assert.ts";
import type { Identity } from "./identity.ts";
import { CONFIGURATION_KEY, configurationTable } from "./raft-storage.ts";
import { learnLedgerSecret } from "./secrets.ts";
import { storeFromSnapshot } from "./snapshot-files.ts";
import { ViewHistory } from "./view-history.ts";

export class Replayer {
  private current: Store;
  private readonly snapshot: ReplaySnapshot | null;
  private readonly identity: Identity;
  private readonly history = new ViewHistory(1);
  private lastView = 0;
  private lastSignature = 0;
  private readonly publicOnlyBelow: number;
  /** Multi-node: keep the unsigned suffix (consensus decides its fate) and compact only committed history. */
  private readonly keepSuffix: boolean;
  private readonly compactUpTo: number;
  /** The ledger started after the snapshot, which replay loaded before its first entry. */
  private startedAhead = false;
  /** Voters recorded at that snapshot (null: none recorded, the initial configuration holds). */
  baseConfiguration: readonly string[] | null = null;
  /** Entries (and a snapshot) whose private section was left unread (recover mode only). */
  privateSkipped = 0;

  /**
   * `publicOnlyBelow`: entries (and a snapshot) below this seqno are applied without their private part — recover
   * mode (everything), or a recovering node restarted before the members' shares came back
   * (everything before its own first secret).
   */
  constructor(
    store: Store,
    identity: Identity,
    options: { publicOnlyBelow?: number; consensusCommit?: number; snapshot?: ReplaySnapshot } = {},
  ) {
    this.current = store;
    this.snapshot = options.snapshot ?? null;
    this.identity = identity;
    this.publicOnlyBelow = options.publicOnlyBelow ?? 0;
    this.keepSuffix = options.consensusCommit !== undefined;
    this.compactUpTo = options.consensusCommit ?? Number.MAX_SAFE_INTEGER;
  }

  /** The store replay built: the one given, or the snapshot's once replay reached it. */
  get store(): Store {
    return this.current;
  }

  /** An entry the snapshot covers: learn what the snapshot does not hold; load it at its seqno. */
  private skipCovered(e: ReplayedEntry, snapshot: ReplaySnapshot): void {
    const entry = decodeEntry(e.bytes);
    this.history.record(entry.header.view, e.seqno);
    if (e.seqno >= this.publicOnlyBelow) learnLedgerSecret(this.identity, e.seqno, publicWritesOf(entry));
    this.lastView = Math.max(this.lastView, entry.header.view);
    if (entry.header.kind === EntryKind.signature) this.lastSignature = e.seqno;
    if (e.seqno !== snapshot.seqno) return;
    this.loadSnapshot(snapshot);
  }

  /** The snapshot's state; without its private maps when its seqno is in the public-only range. */
  private loadSnapshot(snapshot: ReplaySnapshot): void {
    const publicOnly = snapshot.seqno < this.publicOnlyBelow;
    const { store } = storeFromSnapshot(
      snapshot.bytes,
      this.identity.ledgerSecrets,
      snapshot.storeOptions,
      publicOnly,
    );
    this.current = store;
    if (publicOnly && snapshotHeader(snapshot.bytes).secretVersion > 0) this.privateSkipped++;
    assert(this.current.version === snapshot.seqno, "the snapshot is at its seqno");
  }

  /**
   * A ledger that starts after the snapshot (a joiner that caught up from it): the snapshot is the
   * state, its view history the views, and its seqno (a committed signature) the last signature.
   */
  private loadAhead(snapshot: ReplaySnapshot): void {
    this.loadSnapshot(snapshot);
    for (const [view, first] of snapshotHead(snapshot.bytes).viewStarts) {
      this.history.record(view, first);
      this.lastView = Math.max(this.lastView, view);
    }
    this.lastSignature = snapshot.seqno;
    this.startedAhead = true;
    this.baseConfiguration = configurationTable.in(this.current.beginTx()).get(CONFIGURATION_KEY) ?? null;
  }

  apply(e: ReplayedEntry): void {
    if (this.snapshot !== null && e.seqno <= this.snapshot.seqno) {
      this.skipCovered(e, this.snapshot);
      return;
    }
    if (this.snapshot !== null && this.current.version < this.snapshot.seqno) {
      assert(
        e.seqno === this.snapshot.seqno + 1,
        "a ledger that starts after a snapshot starts right after it",
      );
      this.loadAhead(this.snapshot);
    }
    const entry = decodeEntry(e.bytes);
    const version = entry.header.secretVersion;
    const publicOnly = e.seqno < this.publicOnlyBelow;
    const secret = publicOnly ? undefined : this.identity.ledgerSecrets.find((s) => s.version === version);
    assert(
      entry.header.privateBytes === 0 || secret !== undefined || publicOnly,
      () => `ledger secret ${version} is held`,
    );
    if (entry.header.privateBytes > 0 && secret === undefined) this.privateSkipped++;
    const publicWrites = publicWritesOf(entry);
    const writes: WriteSet = [...publicWrites, ...(secret ? privateWritesOf(entry, secret) : [])];
    writes.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    this.current.applyWriteSet(writes, e.seqno);
    this.history.record(entry.header.view, e.seqno);
    // A rekey in this entry sealed the next secret to us: learn it before the entries it encrypts.
    if (!publicOnly) learnLedgerSecret(this.identity, e.seqno, publicWrites);
    this.lastView = Math.max(this.lastView, entry.header.view);
    if (entry.header.kind === EntryKind.signature) {
      this.lastSignature = e.seqno;
      if (e.seqno <= this.compactUpTo) this.current.compact(e.seqno);
    }
  }

  /** Drops the unsigned suffix and returns the view history for a new view. */
  async finish(ledger: Ledger): Promise<{ views: ViewHistory; committedSeqno: number; discarded: number }> {
    if (
      this.snapshot !== null &&
      this.current.version < this.snapshot.seqno &&
      ledger.lastSeqno === this.snapshot.seqno
    )
      this.loadAhead(this.snapshot);
    const discarded = this.keepSuffix ? 0 : ledger.lastSeqno - this.lastSignature;
    if (discarded > 0) {
      await ledger.truncate(this.lastSignature);
      this.current.rollback(this.lastSignature);
      this.history.truncate(this.lastSignature);
      // A rekey in the discarded suffix never happened: forget the secret it introduced.
      const secrets = this.identity.ledgerSecrets;
      while (secrets.length > 1 && (secrets.at(-1)?.version ?? 0) > this.lastSignature) secrets.pop();
    }
    assert(this.current.version === ledger.lastSeqno, "store and ledger agree after replay");
    // With consensus the view follows the term, which only a new election raises.
    const views = new ViewHistory(this.keepSuffix ? Math.max(1, this.lastView) : this.lastView + 1);
    for (const [view, first] of this.history.starts()) views.record(view, first);
    // A snapshot is committed by definition (its evidence transaction is).
    const floor = this.startedAhead && this.snapshot !== null ? this.snapshot.seqno : 0;
    return {
      views,
      committedSeqno: Math.max(floor, Math.min(this.lastSignature, this.compactUpTo)),
      discarded,
    };
  }
}

/** A committed snapshot to start from (src/node/snapshot-files.ts). */
export type ReplaySnapshot = { bytes: Buffer; seqno: number; storeOptions?: StoreOptions };
