/**
 * The consensus core's `Storage` over the node's ledger: the Raft log IS the ledger (index = seqno,
 * term = view, payload = the ledger entry bytes). The core sees entries only up to `stableLast`,
 * which the replicator advances in step 8 of the Ready contract, so an entry the engine has appended
 * but not yet proposed (or not yet persisted) is invisible to the core. Hard state (term, vote,
 * commit, and the initial configuration) lives in `<dataDir>/raft/state.json`, written atomically
 * and fsynced before any message that depends on it is sent.
 */
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import type { Entry, EntryKind, HardState, NodeId, Snapshot, Storage } from "../consensus/index.ts";
import { emptySnapshot, entryBytes } from "../consensus/index.ts";
import { defineTable, json, utf8 } from "../kv/index.ts";
import { decodeEntry, EntryKind as LedgerKind, publicWritesOf } from "../ledger/entry.ts";
import type { Ledger } from "../ledger/ledger.ts";
import { assert } from "../util/assert.ts";
import { SeqnoQueue } from "../util/seqno-queue.ts";
import type { ViewHistory } from "./view-history.ts";

/**
 * The voters of the service after a reconfiguration. A transaction writing key `voters` here is a
 * `reconfiguration` entry for consensus, carrying exactly that list (one transaction, joint quorum).
 */
export const configurationTable = defineTable(
  "public:coterie.internal.configuration",
  utf8,
  json<readonly NodeId[]>(),
);
export const CONFIGURATION_KEY = "voters";
const CONFIGURATION_MAP_BYTES = Buffer.from(configurationTable.name, "utf8");

/** Consensus kind and configuration of a ledger entry, read from its bytes. */
export function entryOfLedgerBytes(index: number, term: number, bytes: Buffer): Entry {
  const decoded = decodeEntry(bytes);
  assert(decoded.header.seqno === index, () => `ledger entry ${decoded.header.seqno} at index ${index}`);
  let kind: EntryKind = decoded.header.kind === LedgerKind.signature ? "signature" : "data";
  const entry: Entry = { index, term, kind, payload: bytes };
  if (kind === "data" && decoded.publicSection.indexOf(CONFIGURATION_MAP_BYTES) >= 0) {
    const map = publicWritesOf(decoded).find((m) => m.name === configurationTable.name);
    const write = map?.writes.find((w) => Buffer.from(w.key).toString("utf8") === CONFIGURATION_KEY);
    if (write?.value) {
      kind = "reconfiguration";
      entry.kind = kind;
      entry.configuration = configurationTable.valueCodec.decode(write.value);
    }
  }
  return entry;
}

export type PersistedState = HardState & { initialConfiguration: NodeId[] };

const STATE_FILE = "state.json";

/** Reads `<dir>/state.json`, or null when the node has never persisted consensus state. */
export function readPersistedState(dir: string): PersistedState | null {
  const path = join(dir, STATE_FILE);
  if (!existsSync(path)) return null;
  const s = JSON.parse(readFileSync(path, "utf8")) as PersistedState;
  assert(
    Number.isSafeInteger(s.term) && Array.isArray(s.initialConfiguration),
    "consensus state file is well formed",
  );
  return s;
}

/** Writes the state with write-to-temp + fsync + rename + directory fsync (atomic and durable). */
export function writePersistedState(dir: string, state: PersistedState, sync: boolean): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = join(dir, `${STATE_FILE}.tmp`);
  const fd = openSync(tmp, "w", 0o600);
  try {
    writeSync(fd, JSON.stringify(state));
    if (sync) fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, join(dir, STATE_FILE));
  if (sync) {
    const dfd = openSync(dir, "r");
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
  }
}

/**
 * Least interval between two writes of the state file for a commit change alone. The write ends in
 * a `renameSync` over the old file, which ext4 makes wait for the new file's data: 1.2 ms p50,
 * 2.2 ms p90, 8.6 ms max on the reference machine, on the event loop. Once a second keeps that
 * off the write path; a lagging commit only makes a restarted node learn it again.
 */
const COMMIT_WRITE_MS = 1000;

/**
 * Entries kept decoded in memory for sending to followers; older ones are re-read from the files.
 * A window of consecutive indexes, evicted from the oldest (a `SeqnoQueue`, not a `Map` walked from
 * its start on every eviction: that walk skipped every deleted entry still in the Map's table).
 */
const CACHE_ENTRIES_MAX = 50_000;
const CACHE_BYTES_MAX = 64 * 1024 * 1024;

export class LedgerStorage implements Storage {
  private readonly ledger: Ledger;
  private readonly views: ViewHistory;
  private readonly dir: string;
  private state: PersistedState;
  private stable: number;
  private readonly cache = new SeqnoQueue<Entry>();
  private cacheBytes = 0;
  private commitWrittenAt = 0;

  /** Voters at the snapshot the ledger starts after (unused when it starts at seqno 1). */
  private readonly baseConfiguration: readonly NodeId[];

  constructor(args: {
    ledger: Ledger;
    views: ViewHistory;
    dir: string;
    state: PersistedState;
    baseConfiguration?: readonly NodeId[];
  }) {
    this.ledger = args.ledger;
    this.baseConfiguration = args.baseConfiguration ?? args.state.initialConfiguration;
    this.views = args.views;
    this.dir = args.dir;
    this.state = { ...args.state };
    this.stable = args.ledger.lastSeqno;
  }

  get initialConfiguration(): readonly NodeId[] {
    return this.state.initialConfiguration;
  }

  hardState(): HardState {
    // The snapshot a ledger starts after is committed, whatever the state file last recorded.
    const commit = Math.max(this.state.commit, this.firstIndex() - 1);
    return { term: this.state.term, vote: this.state.vote, commit };
  }
  /** 1, or the seqno after the snapshot this node caught up from: the leader sends only the suffix. */
  firstIndex(): number {
    return this.ledger.firstSeqno;
  }
  lastIndex(): number {
    return this.stable;
  }
  term(index: number): number | undefined {
    if (index === 0) return 0;
    if (index < 0 || index > this.stable) return undefined;
    return this.views.viewOf(index);
  }
  entries(lo: number, hi: number, bytesMax: number): Entry[] {
    assert(
      lo >= this.firstIndex() && lo < hi && hi <= this.stable + 1,
      () => `entries [${lo}, ${hi}) out of range`,
    );
    const out: Entry[] = [];
    let bytes = 0;
    for (let i = lo; i < hi; i++) {
      const entry = this.entry(i);
      bytes += entryBytes(entry);
      if (out.length > 0 && bytes > bytesMax) break;
      out.push(entry);
    }
    return out;
  }
  /** The snapshot the ledger starts after, as metadata only: term from its view history. */
  snapshot(): Snapshot {
    const base = this.firstIndex() - 1;
    if (base === 0) return emptySnapshot;
    return {
      meta: { index: base, term: this.views.viewOf(base), configuration: this.baseConfiguration },
      payload: new Uint8Array(0),
    };
  }

  private entry(index: number): Entry {
    const cached = this.cache.get(index);
    if (cached !== undefined) return cached;
    return entryOfLedgerBytes(index, this.views.viewOf(index), this.ledger.files.read(index));
  }

  // -- the replicator's side (Ready steps 2-4 and 8)

  /** Step 2: entries after `index` are gone. */
  truncate(index: number): void {
    for (let i = this.stable; i > index; i--) {
      const e = this.cache.get(i);
      if (e !== undefined) this.cacheBytes -= entryBytes(e);
    }
    this.cache.dropFrom(index + 1);
    this.stable = Math.min(this.stable, index);
  }

  /**
   * Step 4: persists term and vote at once with fsync (votes and appends promise durability). A
   * change of the commit index alone is written at most every `COMMIT_WRITE_MS`: a persisted commit
   * that lags only makes a restarted node learn the commit again from the leader.
   */
  setHardState(hard: HardState): void {
    const sync = hard.term !== this.state.term || hard.vote !== this.state.vote;
    this.state = { ...this.state, ...hard };
    const now = Date.now();
    if (!sync && now - this.commitWrittenAt < COMMIT_WRITE_MS) return;
    this.commitWrittenAt = now;
    // Never a commit beyond what this node's own ledger holds on disk: a leader commits on its
    // followers' acknowledgements before its own flush returns, and a backup learns a commit with
    // the entries it is about to flush. A restart must find its commit within its ledger, and a
    // commit is always a signature's seqno: the last one on disk, then (or the snapshot's).
    const base = this.firstIndex() - 1;
    const durable = Math.max(this.ledger.files.durableSeqno, base);
    const commit =
      this.state.commit <= durable
        ? this.state.commit
        : Math.max(this.ledger.lastSignatureAtOrBefore(durable), base);
    writePersistedState(this.dir, { ...this.state, commit }, sync);
  }

  /** Step 8: entries up to `entries.at(-1)` are durable in the ledger and now visible to the core. */
  persisted(entries: readonly Entry[]): void {
    for (const e of entries) {
      assert(e.index === this.stable + 1, () => `persisted ${e.index} after ${this.stable}`);
      this.stable = e.index;
      this.cache.push(e.index, e);
      this.cacheBytes += entryBytes(e);
    }
    // Oldest first; followers that far behind read from the files.
    while (this.cache.size > CACHE_ENTRIES_MAX || this.cacheBytes > CACHE_BYTES_MAX) {
      const e = this.cache.take(this.cache.firstSeqno as number) as Entry;
      this.cacheBytes -= entryBytes(e);
    }
  }
}
