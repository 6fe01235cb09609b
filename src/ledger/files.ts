/**
 * Append-only chunk files with group commit. Entries are appended in seqno order to the open
 * chunk; `flush()` writes everything pending with one `writev` per chunk, so a burst of N entries
 * costs one sync, not N. The open chunk is written through an `O_DSYNC` descriptor: a `writev`
 * returns only once its bytes (and the file size that reaches them) are on disk, as `writev` then
 * `fdatasync` would, but in one trip to libuv's thread pool instead of two. A chunk is closed at
 * the first signature entry after it reaches `chunkBytesMax`, so every closed chunk ends on a
 * signature (verifiable on its own).
 *
 * Ownership: `append` takes ownership of the entry buffer (the caller must not modify it later).
 * Recovery (`open`): a damaged tail of the last chunk — a partial or checksum-failing frame within
 * `tornTailBytesMax` of the end — is truncated and reported; damage anywhere else is corruption and
 * refuses with COTERIE_ERR_LEDGER_CORRUPT. Nothing is silently accepted.
 */
import {
  closeSync,
  constants,
  existsSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  unlinkSync,
} from "node:fs";
import { type FileHandle, open as openFile } from "node:fs/promises";
import { join } from "node:path";
import { assert } from "../util/assert.ts";
import { CoterieError } from "../util/errors.ts";
import {
  CHUNK_HEADER_BYTES,
  chunkFileName,
  chunkHeader,
  FRAME_OVERHEAD_BYTES,
  firstSeqnoOfChunk,
  frameEntries,
  isChunkHeader,
  scanFrame,
  seqnoOfEntry,
} from "./chunk-format.ts";

export type LedgerFilesOptions = {
  /** Close a chunk at the first signature after it reaches this size. */
  chunkBytesMax: number;
  /** Most bytes written by one flush; bounds the torn tail a crash can leave. */
  batchBytesMax: number;
};

export const defaultLedgerFilesOptions: LedgerFilesOptions = {
  chunkBytesMax: 4 * 1024 * 1024,
  batchBytesMax: 8 * 1024 * 1024,
};

type Chunk = { firstSeqno: number; path: string; bytes: number; handle: FileHandle | null };

/** An appended entry not yet written: the entry, its frame's size, and the chunk it goes to. */
type Pending = { seqno: number; entry: Buffer; bytes: number; chunk: number };

/** What recovery found; `truncatedBytes > 0` means a torn tail was cut off. */
export type RecoveryReport = { lastSeqno: number; truncatedBytes: number; truncatedAt: string | null };

type Location = { chunk: number; offset: number; bytes: number };

/** Locations per block of `LocationArray` (256 KiB of Uint32s). */
const LOCATIONS_PER_BLOCK = 1 << 14;

/**
 * Where each entry sits, as three u32 per entry (chunk index, offset in the chunk, entry bytes) in
 * fixed-size `Uint32Array` blocks: 12 bytes per entry, against ~56 for an object in an array, and
 * nothing per entry for the garbage collector to walk. Offsets and sizes are asserted below 2^32.
 */
class LocationArray {
  private readonly blocks: Uint32Array[] = [];
  length = 0;

  push(chunk: number, offset: number, bytes: number): void {
    assert(
      chunk <= 0xffffffff && offset + bytes <= 0xffffffff,
      "a chunk index, offset and entry size fit in 32 bits",
    );
    const block = Math.floor(this.length / LOCATIONS_PER_BLOCK);
    if (block === this.blocks.length) this.blocks.push(new Uint32Array(3 * LOCATIONS_PER_BLOCK));
    const b = this.blocks[block] as Uint32Array;
    const at = 3 * (this.length % LOCATIONS_PER_BLOCK);
    b[at] = chunk;
    b[at + 1] = offset;
    b[at + 2] = bytes;
    this.length++;
  }

  /** The location at `index`, or undefined outside 0..length-1. */
  at(index: number): Location | undefined {
    if (!Number.isSafeInteger(index) || index < 0 || index >= this.length) return undefined;
    const b = this.blocks[Math.floor(index / LOCATIONS_PER_BLOCK)] as Uint32Array;
    const at = 3 * (index % LOCATIONS_PER_BLOCK);
    return { chunk: b[at] as number, offset: b[at + 1] as number, bytes: b[at + 2] as number };
  }

  truncate(length: number): void {
    assert(length >= 0 && length <= this.length, "truncate only shortens");
    this.length = length;
    this.blocks.length = Math.ceil(length / LOCATIONS_PER_BLOCK);
  }
}

/** The first seqno of the ledger in `dir` (its first chunk's), or 1 when it holds no chunk yet. */
export function firstSeqnoInDir(dir: string): number {
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    return 1;
  }
  const firsts = names.map(firstSeqnoOfChunk).filter((s): s is number => s !== null);
  return firsts.length === 0 ? 1 : Math.min(...firsts);
}

export class LedgerFiles {
  readonly dir: string;
  readonly options: LedgerFilesOptions;
  private readonly chunks: Chunk[] = [];
  /** Location of entry `seqno` at index seqno - firstSeqno. */
  private readonly locations = new LocationArray();
  private firstSeqno = 1;
  private pending: Pending[] = [];
  /** The batch being written: off the pending queue, not durable yet, and read from here meanwhile. */
  private writing: Pending[] = [];
  private flushing: Promise<void> | null = null;
  /** The error of the write that failed, if one did: every later flush fails with it. */
  private failure: unknown = null;
  private closeAfterSignature = false;
  private durable = 0;
  /**
   * A read-only descriptor of the chunk read last, kept open: reads come in runs over one chunk
   * (index catch-up, historical queries, receipts), and an open and close per entry cost more than
   * the read (`node bench/ledger-read.ts`). One descriptor at most, closed on truncation and close.
   */
  private reader: { chunk: number; fd: number } | null = null;
  /** Durable writes that made appended entries durable (one per chunk written by a flush). */
  syncs = 0;

  private constructor(dir: string, options: LedgerFilesOptions) {
    this.dir = dir;
    this.options = options;
  }

  /**
   * Opens (creating if needed) the ledger directory, recovers the tail and calls `onEntry` for
   * every entry in seqno order.
   */
  static open(
    dir: string,
    options: LedgerFilesOptions,
    onEntry: (entry: Buffer, seqno: number) => void = () => {},
  ): { files: LedgerFiles; recovery: RecoveryReport } {
    assert(
      options.batchBytesMax >= 1024 && options.chunkBytesMax >= 1024,
      "ledger file limits are at least 1 KiB",
    );
    mkdirSync(dir, { recursive: true });
    const files = new LedgerFiles(dir, options);
    const names = readdirSync(dir)
      .filter((n) => firstSeqnoOfChunk(n) !== null)
      .sort();
    let recovery: RecoveryReport = { lastSeqno: 0, truncatedBytes: 0, truncatedAt: null };
    names.forEach((name, i) => {
      const last = i === names.length - 1;
      recovery = files.loadChunk(name, last, onEntry, recovery);
    });
    files.durable = recovery.lastSeqno;
    return { files, recovery };
  }

  private loadChunk(
    name: string,
    last: boolean,
    onEntry: (entry: Buffer, seqno: number) => void,
    recovery: RecoveryReport,
  ): RecoveryReport {
    const path = join(this.dir, name);
    const first = firstSeqnoOfChunk(name) as number;
    const expected = recovery.lastSeqno + 1;
    if (this.chunks.length === 0) this.firstSeqno = first;
    else if (first !== expected) throw corrupt(`${name} starts at ${first}, expected ${expected}`);
    const buf = readFileSync(path);
    const chunkIndex = this.chunks.length;
    if (!isChunkHeader(buf)) {
      if (last && buf.length < CHUNK_HEADER_BYTES) return this.dropTornChunk(path, buf.length, recovery);
      throw corrupt(`${name} has no valid chunk header`);
    }
    let offset = CHUNK_HEADER_BYTES;
    let seqno = recovery.lastSeqno;
    while (offset < buf.length) {
      const frame = scanFrame(buf, offset);
      if (!frame.ok) {
        const tail = buf.length - offset;
        if (!last || tail > this.options.batchBytesMax) {
          throw corrupt(`${name}: ${frame.reason} frame at byte ${offset}, ${tail} bytes before the end`);
        }
        truncateFile(path, offset);
        recovery = { ...recovery, truncatedBytes: tail, truncatedAt: `${name}@${offset}` };
        break;
      }
      const s = seqnoOfEntry(frame.entry);
      if (s !== (seqno === 0 ? first : seqno + 1))
        throw corrupt(`${name}: entry at byte ${offset} has seqno ${s}`);
      seqno = s;
      this.locations.push(chunkIndex, offset + 4, frame.entry.length);
      onEntry(frame.entry, s);
      offset = frame.next;
    }
    this.chunks.push({ firstSeqno: first, path, bytes: Math.min(offset, buf.length), handle: null });
    return { ...recovery, lastSeqno: seqno };
  }

  private dropTornChunk(path: string, bytes: number, recovery: RecoveryReport): RecoveryReport {
    unlinkSync(path);
    return { ...recovery, truncatedBytes: bytes, truncatedAt: `${path}@0` };
  }

  /** The seqno of the first entry held (1 unless the ledger started after a snapshot). */
  get firstHeldSeqno(): number {
    return this.firstSeqno;
  }

  /**
   * An empty ledger that will start after snapshot `seqno` (a joiner that caught up from it):
   * the first append is `seqno + 1`.
   */
  startAfter(seqno: number): void {
    assert(this.chunks.length === 0 && this.pending.length === 0, "only an empty ledger starts later");
    assert(Number.isSafeInteger(seqno) && seqno >= 0, "a valid start seqno");
    this.firstSeqno = seqno + 1;
    this.durable = seqno;
  }

  /** The highest seqno appended (durable or pending). */
  get lastSeqno(): number {
    return this.firstSeqno + this.locations.length - 1;
  }

  /** The highest seqno known to be on disk (its durable write returned). */
  get durableSeqno(): number {
    return this.durable;
  }

  get totalBytes(): number {
    let n = 0;
    // A chunk's size counts its pending entries from `append` on.
    for (const c of this.chunks) n += c.bytes;
    return n;
  }

  /** Queues `entry` (seqno must be lastSeqno + 1). Durable once a later `flush()` resolves. */
  append(entry: Buffer, seqno: number, isSignature: boolean): void {
    assert(seqno === this.lastSeqno + 1, () => `append seqno ${seqno} follows ${this.lastSeqno}`);
    assert(seqno === seqnoOfEntry(entry), "entry header seqno matches the appended seqno");
    if (this.chunks.length === 0 && this.pending.length === 0) this.firstSeqno = seqno;
    if (this.chunks.length === 0 || this.closeAfterSignature) this.startChunk(seqno);
    const chunk = this.chunks.length - 1;
    const bytes = entry.length + FRAME_OVERHEAD_BYTES;
    this.pending.push({ seqno, entry, bytes, chunk });
    const c = this.chunks[chunk] as Chunk;
    c.bytes += bytes;
    this.locations.push(chunk, c.bytes - bytes + 4, entry.length);
    this.closeAfterSignature = isSignature && c.bytes >= this.options.chunkBytesMax;
  }

  private startChunk(seqno: number): void {
    const path = join(this.dir, chunkFileName(seqno));
    this.chunks.push({ firstSeqno: seqno, path, bytes: CHUNK_HEADER_BYTES, handle: null });
    this.closeAfterSignature = false;
  }

  /**
   * Writes and syncs everything appended so far. Concurrent calls share batches (group commit).
   * A failed write fails this flush and every later one with the same error: what that batch held
   * left the pending queue, so the ledger cannot tell what is on disk any more and must not go on
   * (the node stops; a restart recovers the files as they are).
   */
  async flush(): Promise<void> {
    const target = this.lastSeqno;
    // A truncation meanwhile lowers what there is to make durable.
    while (this.durable < Math.min(target, this.lastSeqno)) {
      if (this.failure !== null) throw this.failure;
      if (this.flushing === null) this.flushing = this.writeBatchOnce();
      await this.flushing;
    }
  }

  /**
   * One batch; `flushing` while it runs, and its failure kept for every later flush. (A method, not
   * callbacks made per flush: V8 drops a closure's optimised code once no closure holds it.)
   */
  private async writeBatchOnce(): Promise<void> {
    try {
      await this.writeBatch();
    } catch (error: unknown) {
      this.failure ??= error;
      throw error;
    } finally {
      this.flushing = null;
    }
  }

  private async writeBatch(): Promise<void> {
    const batch: Pending[] = [];
    let bytes = 0;
    while (this.pending.length > 0) {
      const next = this.pending[0] as Pending;
      if (batch.length > 0 && bytes + next.bytes > this.options.batchBytesMax) break;
      batch.push(next);
      bytes += next.bytes;
      this.pending.shift();
    }
    assert(batch.length > 0, "entries not yet durable are pending");
    const byChunk = new Map<number, Buffer[]>();
    for (const p of batch) {
      const list = byChunk.get(p.chunk);
      if (list === undefined) byChunk.set(p.chunk, [p.entry]);
      else list.push(p.entry);
    }
    this.writing = batch;
    for (const [index, entries] of byChunk) await this.writeToChunk(index, [frameEntries(entries)]);
    this.durable = (batch[batch.length - 1] as Pending).seqno;
    this.writing = [];
  }

  private async writeToChunk(index: number, parts: Buffer[]): Promise<void> {
    const chunk = this.chunks[index] as Chunk;
    if (chunk.handle === null) {
      chunk.handle = await openFile(chunk.path, APPEND_DSYNC);
      const stat = await chunk.handle.stat();
      if (stat.size === 0) {
        parts.unshift(chunkHeader());
        syncDir(this.dir);
      }
    }
    await writevFully(chunk.handle, parts);
    this.syncs++;
    // A chunk that is full and not the last one will never be written again.
    if (index < this.chunks.length - 1) {
      await chunk.handle.close();
      chunk.handle = null;
    }
  }

  /** Reads entry `seqno` from disk, or from memory while it is pending or being written. */
  read(seqno: number): Buffer {
    const i = seqno - this.firstSeqno;
    const loc = this.locations.at(i);
    if (loc === undefined) throw new RangeError(`no entry ${seqno} in the ledger`);
    if (seqno > this.durable) {
      const held = this.pending.find((p) => p.seqno === seqno) ?? this.writing.find((p) => p.seqno === seqno);
      if (held) return held.entry;
    }
    const fd = this.readerOf(loc.chunk);
    const out = Buffer.allocUnsafe(loc.bytes);
    let n: number;
    try {
      n = readSyncFully(fd, out, loc.offset);
    } catch (error) {
      this.closeReader();
      throw error;
    }
    assert(n === loc.bytes, "read the whole entry");
    return out;
  }

  private readerOf(chunk: number): number {
    if (this.reader?.chunk === chunk) return this.reader.fd;
    this.closeReader();
    const fd = openSync((this.chunks[chunk] as Chunk).path, "r");
    this.reader = { chunk, fd };
    return fd;
  }

  private closeReader(): void {
    if (this.reader === null) return;
    const { fd } = this.reader;
    this.reader = null;
    closeSync(fd);
  }

  /** Drops every entry after `seqno` (rollback of an unsigned suffix), on disk and pending. */
  async truncate(seqno: number): Promise<void> {
    assert(seqno >= this.firstSeqno - 1, "truncate within the ledger");
    while (this.flushing) await this.flushing;
    this.pending = this.pending.filter((p) => p.seqno <= seqno);
    if (seqno >= this.lastSeqno) return;
    const loc = this.locations.at(seqno + 1 - this.firstSeqno) as Location;
    this.locations.truncate(seqno + 1 - this.firstSeqno);
    if (this.reader !== null && this.reader.chunk > loc.chunk) this.closeReader();
    while (this.chunks.length - 1 > loc.chunk) {
      const c = this.chunks.pop() as Chunk;
      await c.handle?.close();
      if (existsSync(c.path)) unlinkSync(c.path);
    }
    const chunk = this.chunks[loc.chunk] as Chunk;
    chunk.bytes = loc.offset - 4;
    if (chunk.handle) {
      await chunk.handle.truncate(chunk.bytes);
      await chunk.handle.datasync();
    } else if (existsSync(chunk.path)) truncateFile(chunk.path, chunk.bytes);
    this.durable = Math.min(this.durable, seqno);
    this.closeAfterSignature = false;
  }

  async close(): Promise<void> {
    await this.flush();
    this.closeReader();
    for (const c of this.chunks) {
      await c.handle?.close();
      c.handle = null;
    }
  }
}

function corrupt(message: string): CoterieError {
  return new CoterieError("COTERIE_ERR_LEDGER_CORRUPT", `ledger corrupt: ${message}`);
}

function truncateFile(path: string, bytes: number): void {
  const fd = openSync(path, "r+");
  try {
    ftruncateSync(fd, bytes);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Append, create, and complete each write only once its data is durable (synchronized I/O). */
const APPEND_DSYNC = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_DSYNC;

/**
 * `writev` until every byte is written: a write may be short (a signal, a full disk's last blocks),
 * and what it did write is durable already, so only the rest is written again.
 */
export async function writevFully(handle: Pick<FileHandle, "writev">, parts: Buffer[]): Promise<void> {
  let rest = parts;
  for (;;) {
    let total = 0;
    for (const b of rest) total += b.length;
    const { bytesWritten } = await handle.writev(rest);
    if (bytesWritten >= total) return;
    // A regular file's write either writes something or fails; guard against a spin all the same.
    if (bytesWritten <= 0) throw new Error(`writev wrote ${bytesWritten} of ${total} bytes`);
    let skip = bytesWritten;
    const next: Buffer[] = [];
    for (const b of rest) {
      if (skip >= b.length) skip -= b.length;
      else {
        next.push(skip === 0 ? b : b.subarray(skip));
        skip = 0;
      }
    }
    rest = next;
  }
}

function syncDir(dir: string): void {
  const fd = openSync(dir, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function readSyncFully(fd: number, out: Buffer, position: number): number {
  let n = 0;
  while (n < out.length) {
    const r = readSync(fd, out, n, out.length - n, position + n);
    if (r === 0) break;
    n += r;
  }
  return n;
}
