import assert from "node:assert/strict";
import {
  appendFileSync,
  constants,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { CHUNK_HEADER_BYTES } from "../../../src/ledger/chunk-format.ts";
import { EntryKind, encodeEntry, ZERO_DIGEST } from "../../../src/ledger/entry.ts";
import { writevFully } from "../../../src/ledger/files.ts";
import { Ledger } from "../../../src/ledger/ledger.ts";
import { appendSignature, makeIdentity, tempDir, writeLedger } from "./helpers.ts";

const options = { chunkBytesMax: 4096, batchBytesMax: 64 * 1024 };
const chunks = (dir: string) =>
  readdirSync(dir)
    .filter((n) => n.endsWith(".chunk"))
    .sort();

test("entries survive reopening; chunks close only on a signature once full", async () => {
  const dir = tempDir();
  const id = await makeIdentity();
  const ledger = await writeLedger(dir, id, 60, 5, options);
  const root = ledger.tree.root();
  await ledger.close();
  assert.ok(chunks(dir).length > 1, "4 KiB chunks rotate");
  const seen: number[] = [];
  const { ledger: reopened, recovery } = Ledger.open(dir, options, (e) => seen.push(e.seqno));
  assert.equal(recovery.truncatedBytes, 0);
  assert.equal(reopened.lastSeqno, 72);
  assert.deepEqual(
    seen,
    Array.from({ length: 72 }, (_, i) => i + 1),
  );
  assert.deepEqual(reopened.tree.root(), root);
  // Every closed chunk ends with a signature: the entry before the next chunk's first seqno.
  for (const name of chunks(dir).slice(1)) {
    const first = Number(name.slice(7, 19));
    assert.ok(reopened.signatureSeqnos.includes(first - 1), `${name} follows a signature`);
  }
});

test("a torn tail (partial last frame) is truncated on restart and reported", async () => {
  const dir = tempDir();
  const ledger = await writeLedger(dir, await makeIdentity(), 10, 5, options);
  await ledger.close();
  const last = join(dir, chunks(dir).at(-1) as string);
  const size = statSync(last).size;
  truncateSync(last, size - 7); // cut into the last frame
  const { ledger: reopened, recovery } = Ledger.open(dir, options);
  assert.equal(reopened.lastSeqno, 11);
  assert.ok(recovery.truncatedBytes > 0);
  assert.ok(statSync(last).size < size - 7, "file truncated to the last whole frame");
});

test("garbage appended after the last frame is truncated, not accepted", async () => {
  const dir = tempDir();
  const ledger = await writeLedger(dir, await makeIdentity(), 10, 5, options);
  await ledger.close();
  const last = join(dir, chunks(dir).at(-1) as string);
  appendFileSync(last, Buffer.from([200, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8]));
  const { ledger: reopened, recovery } = Ledger.open(dir, options);
  assert.equal(reopened.lastSeqno, 12);
  assert.equal(recovery.truncatedBytes, 12);
});

test("damage in a closed chunk refuses to start with COTERIE_ERR_LEDGER_CORRUPT", async () => {
  const dir = tempDir();
  const ledger = await writeLedger(dir, await makeIdentity(), 60, 5, options);
  await ledger.close();
  const first = join(dir, chunks(dir)[0] as string);
  const bytes = readFileSync(first);
  bytes[CHUNK_HEADER_BYTES + 50] = (bytes[CHUNK_HEADER_BYTES + 50] as number) ^ 0xff;
  writeFileSync(first, bytes);
  assert.throws(() => Ledger.open(dir, options), { code: "COTERIE_ERR_LEDGER_CORRUPT" });
});

test("replay hands each chunk's entries over as that chunk is read, not after the whole ledger", async () => {
  // Collecting every entry first held every chunk file's bytes at once: a node restarting with a
  // million records peaked ~200 MiB higher (docs/performance.md, "Starting from a snapshot").
  const dir = tempDir();
  const ledger = await writeLedger(dir, await makeIdentity(), 60, 5, options);
  await ledger.close();
  const names = chunks(dir);
  assert.ok(names.length > 2);
  const last = join(dir, names.at(-2) as string); // a closed chunk: damage there is not a torn tail
  const bytes = readFileSync(last);
  bytes[CHUNK_HEADER_BYTES + 50] = (bytes[CHUNK_HEADER_BYTES + 50] as number) ^ 0xff;
  writeFileSync(last, bytes);
  const seen: number[] = [];
  assert.throws(() => Ledger.open(dir, options, (e) => seen.push(e.seqno)), {
    code: "COTERIE_ERR_LEDGER_CORRUPT",
  });
  const damagedFirst = Number((names.at(-2) as string).slice(7, 19));
  assert.deepEqual(
    seen,
    Array.from({ length: damagedFirst - 1 }, (_, i) => i + 1),
    "the chunks before the damaged one were replayed as they were read",
  );
});

test("truncate drops the suffix on disk, and appends continue after it", async () => {
  const dir = tempDir();
  const id = await makeIdentity();
  const ledger = await writeLedger(dir, id, 60, 5, options);
  const rootAt30 = ledger.tree.root(30);
  await ledger.truncate(30);
  assert.equal(ledger.lastSeqno, 30);
  assert.deepEqual(ledger.tree.root(), rootAt30);
  await ledger.close();
  const { ledger: reopened } = Ledger.open(dir, options);
  assert.equal(reopened.lastSeqno, 30);
  assert.deepEqual(reopened.tree.root(), rootAt30);
  assert.equal(reopened.lastSignatureAtOrBefore(30), 30);
});

test("reads across chunks keep one descriptor, and a truncated and rewritten seqno reads its new bytes", async () => {
  const dir = tempDir();
  const id = await makeIdentity();
  const ledger = await writeLedger(dir, id, 60, 5, options);
  const openFds = () => readdirSync("/proc/self/fd").length;
  const before = openFds();
  const original = new Map<number, Buffer>();
  for (let s = 1; s <= ledger.lastSeqno; s++) original.set(s, ledger.files.read(s));
  for (let s = ledger.lastSeqno; s >= 1; s--) assert.deepEqual(ledger.files.read(s), original.get(s));
  assert.ok(openFds() <= before + 1, "at most one descriptor is kept for reading");
  assert.ok(chunks(dir).length > 2, "the reads crossed chunks");
  // The reader now holds the first chunk; read the last so it holds a chunk truncation drops.
  ledger.files.read(ledger.lastSeqno);
  const lastChunk = chunks(dir).length - 1;
  await ledger.truncate(30);
  const enc = (t: string) => new TextEncoder().encode(t);
  const rewritten = new Map<number, Buffer>();
  for (let seqno = 31; seqno <= 90; seqno++) {
    const entry = encodeEntry(
      {
        kind: EntryKind.transaction,
        view: 3,
        seqno,
        publicWrites: [
          {
            name: "public:log",
            writes: [{ key: enc(`k${seqno}`), value: enc(`rewritten ${seqno} `.repeat(12)) }],
          },
        ],
        privateWrites: [],
        claimsDigest: ZERO_DIGEST,
        commitEvidenceDigest: ZERO_DIGEST,
      },
      null,
    );
    ledger.append(entry, seqno, seqno % 5 === 0);
    rewritten.set(seqno, entry.bytes);
  }
  await ledger.flush();
  // First a seqno in a new chunk at the index of the dropped one the reader held.
  const firstOfChunk = (name: string) => Number(name.slice(7, 19));
  assert.ok(chunks(dir).length > lastChunk, "the rewrite reaches the dropped chunk's index");
  const probe = firstOfChunk(chunks(dir)[lastChunk] as string);
  assert.deepEqual(ledger.files.read(probe), rewritten.get(probe), `seqno ${probe}`);
  for (let s = 90; s >= 1; s--)
    assert.deepEqual(ledger.files.read(s), rewritten.get(s) ?? original.get(s), `seqno ${s}`);
  await ledger.close();
  assert.ok(openFds() <= before, "close releases the reading descriptor");
});

test("group commit: many appends then one flush make everything durable", async () => {
  const dir = tempDir();
  const ledger = await writeLedger(dir, await makeIdentity(), 200, 50, {
    chunkBytesMax: 1 << 20,
    batchBytesMax: 1 << 20,
  });
  assert.equal(ledger.files.durableSeqno, ledger.lastSeqno);
  assert.equal(chunks(dir).length, 1);
  await ledger.close();
});

test("the open chunk is written through an O_DSYNC descriptor (each write durable on return)", async (t) => {
  if (process.platform !== "linux") return t.skip("reads descriptor flags from /proc (Linux only)");
  const dir = tempDir();
  const ledger = await writeLedger(dir, await makeIdentity(), 3, 2, options);
  const path = realpathSync(join(dir, chunks(dir).at(-1) as string));
  const fds = readdirSync("/proc/self/fd").filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === path;
    } catch {
      return false; // the descriptor readdir itself used is gone
    }
  });
  assert.equal(fds.length, 1, "the open chunk has one descriptor");
  const flags = /^flags:\s+([0-7]+)$/m.exec(readFileSync(`/proc/self/fdinfo/${fds[0]}`, "utf8"));
  assert.ok(flags, "fdinfo has the descriptor's flags");
  const bits = Number.parseInt(flags[1] as string, 8);
  assert.equal(bits & constants.O_DSYNC, constants.O_DSYNC, "O_DSYNC set");
  assert.equal(bits & constants.O_APPEND, constants.O_APPEND, "O_APPEND set");
  await ledger.close();
});

test("writevFully writes the rest after short writes, and refuses a write that makes no progress", async () => {
  const written: Buffer[] = [];
  const calls: number[] = [];
  // Takes at most 5 bytes per call, as a short write would.
  const shortWriter = {
    async writev(buffers: readonly NodeJS.ArrayBufferView[]) {
      const all = Buffer.concat(buffers.map((b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength)));
      const n = Math.min(5, all.length);
      written.push(all.subarray(0, n));
      calls.push(n);
      return { bytesWritten: n, buffers: buffers as NodeJS.ArrayBufferView[] };
    },
  };
  const parts = [Buffer.from("abc"), Buffer.from(""), Buffer.from("defghij"), Buffer.from("klm")];
  await writevFully(shortWriter as never, parts);
  assert.equal(Buffer.concat(written).toString(), "abcdefghijklm");
  assert.deepEqual(calls, [5, 5, 3]);
  const stuck = { writev: async () => ({ bytesWritten: 0, buffers: [] }) };
  await assert.rejects(writevFully(stuck as never, [Buffer.from("x")]), /wrote 0 of 1 bytes/);
});

test("a failed write fails that flush and every later one (no silent loss, no spin)", {
  timeout: 10_000,
}, async () => {
  const dir = tempDir();
  const id = await makeIdentity();
  const { ledger } = Ledger.open(dir, options);
  appendSignature(ledger, id, 2);
  rmSync(dir, { recursive: true }); // the first chunk cannot be created now
  await assert.rejects(ledger.flush(), { code: "ENOENT" });
  assert.equal(ledger.files.durableSeqno, 0);
  // The batch that failed left the pending queue: a later flush must fail too, not report success
  // (or spin waiting for entries that will never be written).
  mkdirSync(dir);
  appendSignature(ledger, id, 2);
  await assert.rejects(ledger.flush(), { code: "ENOENT" });
  assert.equal(ledger.files.durableSeqno, 0);
});

test("entries being written are read from memory, and the byte count is what the files will hold", async () => {
  const dir = tempDir();
  const id = await makeIdentity();
  const { ledger } = Ledger.open(dir, options);
  const first = appendSignature(ledger, id, 2);
  const second = appendSignature(ledger, id, 2);
  const expected = [ledger.files.read(first), ledger.files.read(second)];
  const before = ledger.files.totalBytes;
  const flushing = ledger.flush();
  // The batch has left the pending queue and is not on disk yet: still readable, unchanged.
  assert.deepEqual([ledger.files.read(first), ledger.files.read(second)], expected);
  await flushing;
  assert.deepEqual([ledger.files.read(first), ledger.files.read(second)], expected);
  const onDisk = chunks(dir).reduce((n, name) => n + statSync(join(dir, name)).size, 0);
  assert.equal(before, onDisk, "pending entries counted once");
  assert.equal(ledger.files.totalBytes, onDisk);
  await ledger.close();
});
