/**
 * Writing a snapshot in bounded chunks across event-loop turns: byte for byte what
 * `encodeSnapshot` produces (docs/ledger-format.md, "Snapshots"), without holding the primary's
 * event loop or the whole file in memory. A million records is ~70 MB; in one turn it stalled the
 * primary 1.6 s, past the 500 ms election timeout.
 *
 * Two passes over the immutable store snapshot, both resumed across turns:
 * 1. sizing (lengths only): the header holds P and Q, and the header is part of the additional data
 *    of the private section's AES-GCM, so both lengths are needed before the first byte is written;
 * 2. writing: header ‖ frontier ‖ views ‖ public section ‖ nonce ‖ ciphertext ‖ tag, each chunk
 *    hashed (SHA-256 of the file), fed to the cipher (as additional data before the private section,
 *    as plaintext inside it), and handed to `sink`, then one turn is yielded.
 * Memory: one chunk (plus what the sink holds; the cipher's output per chunk), never the entry list or the file.
 */
import { type CipherGCM, createCipheriv, createHash, randomBytes } from "node:crypto";
import { setImmediate as nextTurn } from "node:timers/promises";
import { GCM_NONCE_BYTES, GCM_TAG_BYTES } from "../crypto/aead.ts";
import { isPublicMapName, type Snapshot } from "../kv/index.ts";
import { assert } from "../util/assert.ts";
import type { LedgerSecret } from "./entry.ts";
import { encodeSnapshotPrefix, snapshotKey } from "./snapshot.ts";

/**
 * Receives the file's bytes in order, each call awaited before the next. `chunk` may be reused
 * once the returned promise resolves: a sink that keeps it must copy it.
 */
export type SnapshotSink = (chunk: Buffer) => Promise<void>;

export type SnapshotStreamOptions = {
  /** Bytes encoded per turn at most (an entry larger than this spans several chunks). */
  chunkBytes?: number;
  /** Entries encoded per turn at most: bounds a turn when entries are tiny. */
  entriesPerTurnMax?: number;
  /** Entries sized per turn in the first pass (lengths only, ~10x cheaper than encoding). */
  sizingEntriesPerTurnMax?: number;
  /** The private section's nonce; random unless a test compares with `encodeSnapshot`. */
  nonce?: Uint8Array;
};

export type SnapshotStreamResult = {
  /** SHA-256 of the file, hex: what `snapshotDigest` of the whole file gives. */
  digest: string;
  bytes: number;
  /** Event-loop turns yielded (sizing and writing). */
  turns: number;
};

/**
 * A few ms of work per turn. Measured with bench/snapshot-stall.ts at 1M logging-app records
 * (medians of 3, longest gap between 1 ms timer ticks): 1 MiB chunks 67 ms, 512 KiB 52 ms,
 * 256 KiB 37 ms, for the same wall time (~1 s). Entries per turn scale with the chunk (~64 B each).
 */
export const SNAPSHOT_CHUNK_BYTES = 256 << 10;
export const SNAPSHOT_ENTRIES_PER_TURN_MAX = 4096;
export const SNAPSHOT_SIZING_ENTRIES_PER_TURN_MAX = 16_384;
/** The largest fixed-size field written without splitting (u64 version). */
const FIELD_BYTES_MAX = 8;

/**
 * Streams the state `kv` (at `kv.version`) with the tree frontier and view history into `sink`.
 * Resolves once the last chunk is written; the caller makes it durable (fsync) and names it.
 */
export async function writeSnapshotStream(
  kv: Snapshot,
  frontier: Uint8Array[],
  viewStarts: Array<[number, number]>,
  secret: LedgerSecret,
  sink: SnapshotSink,
  options: SnapshotStreamOptions = {},
): Promise<SnapshotStreamResult> {
  const chunkBytes = options.chunkBytes ?? SNAPSHOT_CHUNK_BYTES;
  const entriesPerTurnMax = options.entriesPerTurnMax ?? SNAPSHOT_ENTRIES_PER_TURN_MAX;
  const sizingPerTurn = options.sizingEntriesPerTurnMax ?? SNAPSHOT_SIZING_ENTRIES_PER_TURN_MAX;
  assert(Number.isSafeInteger(chunkBytes) && chunkBytes >= FIELD_BYTES_MAX, "chunkBytes holds a field");
  assert(entriesPerTurnMax >= 1 && sizingPerTurn >= 1, "a turn encodes at least one entry");
  const names = kv.mapNames();
  const publicNames = names.filter(isPublicMapName);
  const privateNames = names.filter((name) => !isPublicMapName(name));
  const sizing = { turns: 0, sinceYield: 0, perTurn: sizingPerTurn };
  const publicBytes = await sectionBytes(kv, publicNames, sizing);
  const plainBytes = privateNames.length === 0 ? 0 : await sectionBytes(kv, privateNames, sizing);
  const privateBytes = privateNames.length === 0 ? 0 : GCM_NONCE_BYTES + plainBytes + GCM_TAG_BYTES;
  const prefix = encodeSnapshotPrefix(
    kv.version,
    secret.version,
    frontier,
    viewStarts,
    publicBytes,
    privateBytes,
  );

  const nonce = options.nonce ?? randomBytes(GCM_NONCE_BYTES);
  assert(nonce.length === GCM_NONCE_BYTES, "GCM nonce must be 12 bytes");
  const cipher = privateNames.length === 0 ? null : createCipheriv("aes-256-gcm", snapshotKey(secret), nonce);
  const out = new ChunkWriter(sink, chunkBytes, entriesPerTurnMax, cipher);
  await out.putBytes(prefix);
  await writeSection(kv, publicNames, out);
  await out.flush();
  assert(out.bytes === prefix.length + publicBytes, "the public section has the length sized for it");
  if (cipher !== null) {
    await out.emit(Buffer.from(nonce));
    out.mode = "encrypt";
    await writeSection(kv, privateNames, out);
    await out.flush();
    await out.emit(Buffer.concat([cipher.final(), cipher.getAuthTag()]));
  }
  assert(out.bytes === prefix.length + publicBytes + privateBytes, "the file has the length in its header");
  return { digest: out.hash.digest("hex"), bytes: out.bytes, turns: sizing.turns + out.turns };
}

/** Length of the map section of `names` (snapshot-maps.ts), summed across turns. */
async function sectionBytes(
  kv: Snapshot,
  names: string[],
  turn: { turns: number; sinceYield: number; perTurn: number },
): Promise<number> {
  let size = 4;
  for (const name of names) {
    size += 2 + Buffer.byteLength(name, "utf8") + 4;
    for (const [key, entry] of kv.versionedEntriesLatin1(name)) {
      size += 4 + key.length + 4 + entry.value.length + 8;
      if (++turn.sinceYield >= turn.perTurn) {
        turn.sinceYield = 0;
        turn.turns++;
        await nextTurn();
      }
    }
  }
  return size;
}

/** The map section of `names`: u32 count, then per map its name, entry count and entries. */
async function writeSection(kv: Snapshot, names: string[], out: ChunkWriter): Promise<void> {
  await out.room(4);
  out.u32(names.length);
  for (const name of names) {
    const nameBytes = Buffer.from(name, "utf8");
    await out.room(2);
    out.u16(nameBytes.length);
    await out.putBytes(nameBytes);
    await out.room(4);
    const count = kv.size(name);
    out.u32(count);
    let written = 0;
    // Awaits only when a chunk is full: an await per entry cost a microtask hop a million times.
    for (const [key, entry] of kv.versionedEntriesLatin1(name)) {
      const entryBytes = 4 + key.length + 4 + entry.value.length + 8;
      if (!out.fits(Math.min(entryBytes, out.capacity))) await out.flush();
      if (entryBytes <= out.capacity) out.smallEntry(key, entry.value, entry.version);
      else await out.largeEntry(key, entry.value, entry.version);
      written++;
      if (out.entryDone()) await out.flush();
    }
    assert(written === count, "a map has the entry count written before its entries");
  }
}

/**
 * Fills one chunk at a time; `flush` hashes it, passes it through the cipher (additional data
 * before the private section, plaintext inside it), hands it to the sink and yields one turn.
 */
class ChunkWriter {
  readonly capacity: number;
  readonly hash = createHash("sha256");
  mode: "before-private" | "encrypt" = "before-private";
  bytes = 0;
  turns = 0;
  private readonly sink: SnapshotSink;
  private readonly entriesPerTurnMax: number;
  private readonly cipher: CipherGCM | null;
  private chunk: Buffer;
  private at = 0;
  private entries = 0;

  constructor(sink: SnapshotSink, capacity: number, entriesPerTurnMax: number, cipher: CipherGCM | null) {
    this.sink = sink;
    this.capacity = capacity;
    this.entriesPerTurnMax = entriesPerTurnMax;
    this.cipher = cipher;
    this.chunk = Buffer.allocUnsafe(capacity);
  }

  fits(n: number): boolean {
    return this.at + n <= this.capacity;
  }

  /** Makes room for `n` ≤ capacity contiguous bytes, flushing the chunk if they do not fit. */
  async room(n: number): Promise<void> {
    if (!this.fits(n)) await this.flush();
  }

  /** Counts an entry; true when the turn's share is done and the chunk should be flushed. */
  entryDone(): boolean {
    return ++this.entries >= this.entriesPerTurnMax;
  }

  async flush(): Promise<void> {
    this.entries = 0;
    if (this.at === 0) return;
    // The chunk is reused once the sink is done with it: a fresh buffer per chunk left up to ~70 MB
    // of garbage outside the heap for the GC to notice late (peak RSS +74 MiB instead of +40 at 1M).
    const plain = this.chunk.subarray(0, this.at);
    this.at = 0;
    if (this.cipher === null) await this.emit(plain);
    else if (this.mode === "before-private") {
      this.cipher.setAAD(plain);
      await this.emit(plain);
    } else await this.emit(this.cipher.update(plain));
    this.turns++;
    await nextTurn();
  }

  /** Bytes that go to the file as they are, outside the chunk (nonce, tag). */
  async emit(bytes: Buffer): Promise<void> {
    this.hash.update(bytes);
    this.bytes += bytes.length;
    await this.sink(bytes);
  }

  u16(n: number): void {
    this.at = this.chunk.writeUInt16LE(n, this.at);
  }

  u32(n: number): void {
    this.at = this.chunk.writeUInt32LE(n, this.at);
  }

  /** u64 little-endian; versions are seqnos, below 2^53. */
  u64(n: number): void {
    this.at = this.chunk.writeUInt32LE(n % 0x1_0000_0000, this.at);
    this.at = this.chunk.writeUInt32LE(Math.floor(n / 0x1_0000_0000), this.at);
  }

  /** An entry that fits in the room made for it. */
  smallEntry(key: string, value: string, version: number): void {
    this.u32(key.length);
    this.latin1(key, 0, key.length);
    this.u32(value.length);
    this.latin1(value, 0, value.length);
    this.u64(version);
  }

  /** An entry larger than a chunk: its key and value are split across chunks. */
  async largeEntry(key: string, value: string, version: number): Promise<void> {
    await this.room(4);
    this.u32(key.length);
    await this.putLatin1(key);
    await this.room(4);
    this.u32(value.length);
    await this.putLatin1(value);
    await this.room(8);
    this.u64(version);
  }

  async putBytes(bytes: Uint8Array): Promise<void> {
    for (let from = 0; from < bytes.length; ) {
      if (this.at === this.capacity) await this.flush();
      const n = Math.min(bytes.length - from, this.capacity - this.at);
      this.chunk.set(bytes.subarray(from, from + n), this.at);
      this.at += n;
      from += n;
    }
  }

  private async putLatin1(text: string): Promise<void> {
    for (let from = 0; from < text.length; ) {
      if (this.at === this.capacity) await this.flush();
      const n = Math.min(text.length - from, this.capacity - this.at);
      this.latin1(text, from, from + n);
      from += n;
    }
  }

  /** Chars [from, to) of a latin1 string, one byte each. */
  private latin1(text: string, from: number, to: number): void {
    const chunk = this.chunk;
    let at = this.at;
    if (to - from > 64) at += chunk.write(text.slice(from, to), at, "latin1");
    else for (let i = from; i < to; i++) chunk[at++] = text.charCodeAt(i);
    this.at = at;
  }
}
