/**
 * Indexes over committed transactions, so historical queries do not scan the ledger: for each map,
 * the seqnos that wrote it, and for each (map, key), the seqnos that wrote that key. Values are not
 * indexed: a query reads only the entries the index names.
 *
 * Decision (docs/apps.md, "Indexes"): the index lives in memory, never on disk. Keys of private
 * maps are confidential (they are encrypted in the ledger); a disk index would store them in
 * plaintext outside the TEE. It is built from the ledger in the background, a bounded batch per
 * tick; queries over seqnos not indexed yet read those entries directly (bounded).
 * Memory is bounded by `postingsMax`: once full, the index stops growing and later seqnos are
 * served by the bounded direct read (the range limit still applies).
 *
 * Decision (docs/apps.md, "Indexes"): the full index is made on the first historical query, not at
 * start, so a node that never answers one never pays for it (a measured 5–12% of three nodes' CPU
 * per write, and the keys' memory); `historyIndex.atStart` builds it before the node serves. The
 * app mount follows the governed bundle with an index restricted to that one public map.
 */
import type { WriteSet } from "../kv/index.ts";
import {
  type DecodedEntry,
  decodeEntry,
  EntryKind,
  privateWritesOf,
  publicWritesOf,
} from "../ledger/entry.ts";
import { SeqnoQueue } from "../util/seqno-queue.ts";
import type { Engine } from "./engine.ts";

export const indexPostingsMax = 4_000_000;
/** Entries indexed per background tick, so indexing never blocks requests for long. */
export const indexBatchEntriesMax = 2_000;
export const indexTickMs = 20;
/** Announced write sets kept until indexed; beyond this, entries are read back from the ledger. */
export const announcedWriteSetsMax = 100_000;

export type IndexedWrite = { map: string; key: Uint8Array; value: Uint8Array | null };

/** The write set of the entry at `seqno`, public and private, or [] for a signature. */
export function writesAt(engine: Engine, seqno: number): { entry: DecodedEntry; writes: WriteSet } {
  return writesOf(engine, decodeEntry(engine.ledger.files.read(seqno)));
}

/** The write set of a decoded entry (private writes decrypted), or [] for a signature. */
export function writesOf(engine: Engine, entry: DecodedEntry): { entry: DecodedEntry; writes: WriteSet } {
  if (entry.header.kind !== EntryKind.transaction) return { entry, writes: [] };
  const writes = publicWritesOf(entry);
  if (entry.header.privateBytes > 0)
    writes.push(...privateWritesOf(entry, engine.secretFor(entry.header.secretVersion)));
  return { entry, writes };
}

const noWrites: WriteSet = [];

export type HistoryIndexOptions = {
  /** Index only these maps (all others are skipped); all maps when absent. */
  maps?: ReadonlySet<string>;
};

export class HistoryIndex {
  /** Every seqno <= this is indexed (or the index is full and stopped at it). */
  indexedSeqno = 0;
  private postings = 0;
  private readonly byMap = new Map<string, number[]>();
  /**
   * Per map, per latin1 key: the seqnos that wrote it. Most keys are written once, so a single
   * seqno is held as a number (an array costs ~56 more bytes per key); the second write turns it
   * into an ascending array.
   */
  private readonly byKey = new Map<string, Map<string, Postings>>();
  private readonly engine: Engine;
  private readonly maps: ReadonlySet<string> | null;
  /** A restricted index of public maps only never decrypts, so never waits for ledger secrets. */
  private readonly publicOnly: boolean;
  private timer: NodeJS.Timeout | null = null;
  /**
   * Write sets the engine announced and the index has not consumed yet, in ascending seqno order
   * (only the maps indexed, and only when there are any): taken from memory instead of reading the
   * entry back and decrypting it again. A rolled-back seqno is replaced when it is rewritten; only
   * committed seqnos are consumed. A queue, not a `Map` by seqno, for the reason the engine's
   * commit waiters are one (docs/performance.md, "Young garbage kept alive").
   */
  private readonly announced = new SeqnoQueue<WriteSet>();
  /**
   * Every seqno in [announcedFrom, lastAnnounced] was announced since then, so one not in
   * `announced` wrote nothing indexed. Any other seqno not in `announced` (written before the index
   * existed, replayed at start, or not kept past `announcedWriteSetsMax`) is read from the ledger.
   */
  private announcedFrom = 0;
  private lastAnnounced = 0;
  /** Why background indexing stopped, if it did. */
  failure: unknown = null;

  constructor(engine: Engine, options: HistoryIndexOptions = {}) {
    this.engine = engine;
    this.maps = options.maps ?? null;
    this.publicOnly = this.maps !== null && [...this.maps].every((m) => m.startsWith("public:"));
    engine.observeWriteSets((seqno, writes) => this.announce(seqno, writes));
  }

  private announce(seqno: number, writes: WriteSet): void {
    if (this.isFull || this.failure !== null || seqno <= this.indexedSeqno) return;
    if (this.announcedFrom === 0 || seqno > this.lastAnnounced + 1) {
      // The first announcement, or one after a gap: the seqnos before it come from the ledger.
      this.announcedFrom = seqno;
    } else if (seqno <= this.lastAnnounced) {
      // Announcements arrive in seqno order except after a rollback, which restarts lower:
      // everything at or above a re-announced seqno is from the discarded suffix.
      this.announced.dropFrom(seqno);
      if (seqno < this.announcedFrom) this.announcedFrom = seqno;
    }
    this.lastAnnounced = seqno;
    const kept = this.maps === null ? writes : this.keptOf(writes, this.maps);
    if (kept.length === 0) return;
    // Bounded: past the limit the entry is read back from the ledger like a replayed one.
    if (this.announced.size < announcedWriteSetsMax) this.announced.push(seqno, kept);
    else this.announcedFrom = seqno + 1;
  }

  /** The writes to `maps`; most write sets touch none, and then nothing is allocated. */
  private keptOf(writes: WriteSet, maps: ReadonlySet<string>): WriteSet {
    let kept: WriteSet | null = null;
    for (const m of writes) if (maps.has(m.name)) (kept ??= []).push(m);
    return kept ?? noWrites;
  }

  get isFull(): boolean {
    return this.postings >= indexPostingsMax;
  }

  /** Starts background catch-up with the commit seqno; idempotent. */
  start(): void {
    if (this.timer !== null) return;
    this.timer = setInterval(() => {
      try {
        this.catchUp(indexBatchEntriesMax);
      } catch (error) {
        // Stop indexing; queries past `indexedSeqno` read the ledger directly (bounded) and
        // surface the same error to the caller, which is where it can be reported.
        this.failure = error;
        this.stop();
      }
    }, indexTickMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  /** Indexes up to `entriesMax` committed entries after `indexedSeqno`. */
  catchUp(entriesMax: number): void {
    if (this.indexedSeqno === 0) this.indexedSeqno = firstReadableSeqno(this.engine) - 1;
    const to = Math.min(this.engine.committedSeqno, this.indexedSeqno + entriesMax);
    const secrets = this.engine.identity.ledgerSecrets;
    for (let seqno = this.indexedSeqno + 1; seqno <= to && !this.isFull; seqno++) {
      const writes = this.announced.take(seqno);
      if (writes !== undefined) {
        for (const m of writes) this.add(m.name, m.writes, seqno);
        this.indexedSeqno = seqno;
        continue;
      }
      if (seqno >= this.announcedFrom && seqno <= this.lastAnnounced && this.announcedFrom > 0) {
        this.indexedSeqno = seqno; // announced, and it wrote nothing this index keeps
        continue;
      }
      const entry = decodeEntry(this.engine.ledger.files.read(seqno));
      const header = entry.header;
      let read: WriteSet;
      if (this.publicOnly) {
        read = header.kind === EntryKind.transaction ? publicWritesOf(entry) : [];
      } else {
        // Recover mode: wait (never skip) until the members' shares bring the ledger secrets back.
        if (header.privateBytes > 0 && !secrets.some((s) => s.version === header.secretVersion)) break;
        read = writesOf(this.engine, entry).writes;
      }
      for (const m of read)
        if (this.maps === null || this.maps.has(m.name)) this.add(m.name, m.writes, seqno);
      this.indexedSeqno = seqno;
    }
  }

  private add(map: string, writes: Array<{ key: Uint8Array }>, seqno: number): void {
    push(this.byMap, map, seqno);
    let keys = this.byKey.get(map);
    if (keys === undefined) this.byKey.set(map, (keys = new Map()));
    for (const w of writes) {
      const key = Buffer.from(w.key).toString("latin1");
      const seqnos = keys.get(key);
      if (seqnos === undefined) keys.set(key, seqno);
      else if (typeof seqnos === "number") {
        if (seqnos !== seqno) keys.set(key, [seqnos, seqno]);
      } else if (seqnos.at(-1) !== seqno) seqnos.push(seqno);
    }
    this.postings += 1 + writes.length;
  }

  /** Seqnos in [from, to] that wrote `key` of `map` (to is clamped to the indexed part). */
  keySeqnos(map: string, key: Uint8Array, from: number, to: number): number[] {
    const seqnos = this.byKey.get(map)?.get(Buffer.from(key).toString("latin1"));
    return slice(typeof seqnos === "number" ? [seqnos] : seqnos, from, Math.min(to, this.indexedSeqno));
  }

  mapSeqnos(map: string, from: number, to: number): number[] {
    return slice(this.byMap.get(map), from, Math.min(to, this.indexedSeqno));
  }
}

/**
 * The first seqno whose entry this node's ledger holds: 1, unless the node started from a
 * snapshot. Found by binary search over reads (the ledger files do not expose it).
 */
function firstReadableSeqno(engine: Engine): number {
  const readable = (seqno: number) => {
    try {
      engine.ledger.files.read(seqno);
      return true;
    } catch (error) {
      if (error instanceof RangeError) return false;
      throw error;
    }
  };
  if (engine.committedSeqno === 0 || readable(1)) return 1;
  let lo = 1;
  let hi = engine.committedSeqno;
  if (!readable(hi)) return hi + 1;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (readable(mid)) hi = mid;
    else lo = mid;
  }
  return hi;
}

/** The seqnos that wrote one key, ascending: one number, or an array of two or more. */
type Postings = number | number[];

function push<K>(m: Map<K, number[]>, k: K, seqno: number): void {
  const list = m.get(k);
  if (list === undefined) m.set(k, [seqno]);
  else if (list.at(-1) !== seqno) list.push(seqno);
}

/** The elements of an ascending list within [from, to], by binary search. */
function slice(list: number[] | undefined, from: number, to: number): number[] {
  if (list === undefined || from > to) return [];
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((list[mid] as number) < from) lo = mid + 1;
    else hi = mid;
  }
  const out: number[] = [];
  for (let i = lo; i < list.length && (list[i] as number) <= to; i++) out.push(list[i] as number);
  return out;
}

const indexes = new WeakMap<Engine, HistoryIndex>();

/**
 * The one full index of an engine, created and started on first use: the first historical query.
 * Until it has caught up, queries read the seqnos it has not indexed directly (bounded).
 */
export function historyIndexOf(engine: Engine): HistoryIndex {
  let index = indexes.get(engine);
  if (index === undefined) {
    indexes.set(engine, (index = new HistoryIndex(engine)));
    index.start();
  }
  return index;
}

/**
 * Indexes everything committed before returning. Stops early if catch-up stalls: in recover mode
 * private entries wait for the ledger secrets, and the background catch-up goes on from there.
 */
export function catchUpNow(index: HistoryIndex, engine: Engine): void {
  for (
    let before = -1;
    index.indexedSeqno < engine.committedSeqno && !index.isFull && index.indexedSeqno !== before;
  ) {
    before = index.indexedSeqno;
    index.catchUp(10_000);
  }
}

/** Makes the engine's full index and catches it up before returning (`historyIndex.atStart`). */
export function buildHistoryIndex(engine: Engine): HistoryIndex {
  const index = historyIndexOf(engine);
  catchUpNow(index, engine);
  return index;
}

/** Whether the engine's full index exists yet (it is made by the first historical query). */
export function hasHistoryIndex(engine: Engine): boolean {
  return indexes.has(engine);
}

/**
 * The last seqno the engine's full index has indexed, or -1 while there is none (the metric
 * `coterie_history_index_seqno`): an operator sees whether the index exists and how far behind
 * the commit it is, without making it.
 */
export function historyIndexSeqno(engine: Engine): number {
  return indexes.get(engine)?.indexedSeqno ?? -1;
}
