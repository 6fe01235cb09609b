// The consensus core's Storage over the ledger: consensus kinds read from ledger bytes (signature,
// reconfiguration with its voters, data), terms from the view history, half-open ranges under a
// byte limit, truncation, only persisted entries visible; and the atomic, fsynced state file.
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import type { WriteSet } from "../../../src/kv/index.ts";
import { EntryKind, encodeEntry, ZERO_DIGEST } from "../../../src/ledger/entry.ts";
import { Ledger } from "../../../src/ledger/ledger.ts";
import {
  CONFIGURATION_KEY,
  configurationTable,
  entryOfLedgerBytes,
  LedgerStorage,
  readPersistedState,
  writePersistedState,
} from "../../../src/node/raft-storage.ts";
import { ViewHistory } from "../../../src/node/view-history.ts";

const enc = new TextEncoder();

function entryBytes(kind: EntryKind, view: number, seqno: number, publicWrites: WriteSet) {
  return encodeEntry(
    {
      kind,
      view,
      seqno,
      publicWrites,
      privateWrites: [],
      claimsDigest: ZERO_DIGEST,
      commitEvidenceDigest: ZERO_DIGEST,
    },
    null,
  );
}

const data = (view: number, seqno: number) =>
  entryBytes(EntryKind.transaction, view, seqno, [
    { name: "public:app", writes: [{ key: enc.encode("k"), value: enc.encode(`v${seqno}`) }] },
  ]);
const reconfiguration = (view: number, seqno: number, voters: string[]) =>
  entryBytes(EntryKind.transaction, view, seqno, [
    {
      name: configurationTable.name,
      writes: [{ key: enc.encode(CONFIGURATION_KEY), value: configurationTable.valueCodec.encode(voters) }],
    },
  ]);
const signature = (view: number, seqno: number) =>
  entryBytes(EntryKind.signature, view, seqno, [
    {
      name: "public:coterie.internal.signatures",
      writes: [{ key: enc.encode("sig"), value: enc.encode("{}") }],
    },
  ]);

test("consensus kinds come from the ledger bytes", () => {
  assert.equal(entryOfLedgerBytes(1, 2, data(2, 1).bytes).kind, "data");
  assert.equal(entryOfLedgerBytes(2, 2, signature(2, 2).bytes).kind, "signature");
  const r = entryOfLedgerBytes(3, 2, reconfiguration(2, 3, ["a", "b"]).bytes);
  assert.equal(r.kind, "reconfiguration");
  assert.deepEqual(r.configuration, ["a", "b"]);
  assert.throws(() => entryOfLedgerBytes(4, 2, data(2, 3).bytes), /ledger entry 3 at index 4/);
});

test("LedgerStorage shows only persisted entries, with terms from the views, and truncates", () => {
  const dir = mkdtempSync(join(tmpdir(), "coterie-raft-storage-"));
  const { ledger } = Ledger.open(join(dir, "ledger"), { chunkBytesMax: 1 << 20, batchBytesMax: 1 << 20 });
  const views = new ViewHistory(1);
  const state = { term: 0, vote: null, commit: 0, initialConfiguration: ["a"] };
  const storage = new LedgerStorage({ ledger, views, dir: join(dir, "raft"), state });
  assert.equal(storage.lastIndex(), 0);
  assert.equal(storage.term(0), 0);
  const made = [data(1, 1), signature(1, 2), data(2, 3), reconfiguration(2, 4, ["a", "b"]), signature(2, 5)];
  made.forEach((e, i) => {
    const seqno = i + 1;
    const view = seqno <= 2 ? 1 : 2;
    ledger.append(e, seqno, seqno === 2 || seqno === 5);
    views.record(view, seqno);
  });
  assert.equal(storage.lastIndex(), 0, "appended but not persisted: invisible to the core");
  storage.persisted(made.slice(0, 3).map((e, i) => entryOfLedgerBytes(i + 1, i < 2 ? 1 : 2, e.bytes)));
  assert.equal(storage.lastIndex(), 3);
  assert.equal(storage.term(2), 1);
  assert.equal(storage.term(3), 2);
  assert.equal(storage.term(4), undefined, "beyond the persisted log");
  storage.persisted(made.slice(3).map((e, i) => entryOfLedgerBytes(i + 4, 2, e.bytes)));
  const all = storage.entries(1, 6, Number.MAX_SAFE_INTEGER);
  assert.deepEqual(
    all.map((e) => `${e.index}/${e.term}/${e.kind}`),
    ["1/1/data", "2/1/signature", "3/2/data", "4/2/reconfiguration", "5/2/signature"],
  );
  assert.equal(storage.entries(1, 6, 1).length, 1, "at least one entry under any byte limit");
  assert.throws(() => storage.entries(0, 2, 100), /out of range/);
  assert.throws(() => storage.entries(5, 7, 100), /out of range/);
  storage.truncate(3);
  assert.equal(storage.lastIndex(), 3);
  assert.throws(() => storage.persisted([entryOfLedgerBytes(5, 2, made[4]!.bytes)]), /persisted 5 after 3/);
  // What replaces the truncated suffix is what the core reads back, not the entries it replaced.
  storage.persisted([
    entryOfLedgerBytes(4, 3, data(3, 4).bytes),
    entryOfLedgerBytes(5, 3, signature(3, 5).bytes),
  ]);
  assert.deepEqual(
    storage.entries(3, 6, Number.MAX_SAFE_INTEGER).map((e) => `${e.index}/${e.term}/${e.kind}`),
    ["3/2/data", "4/3/data", "5/3/signature"],
  );
});

/** A ledger holding seqnos 1..`durable` on disk, then `pending` more not flushed yet. */
async function ledgerWith(dir: string, durable: number, pending: number): Promise<Ledger> {
  const { ledger } = Ledger.open(dir, { chunkBytesMax: 1 << 20, batchBytesMax: 1 << 20 });
  for (let seqno = 1; seqno <= durable + pending; seqno++) {
    if (seqno === durable + 1) await ledger.flush();
    ledger.append(seqno % 3 === 0 ? signature(1, seqno) : data(1, seqno), seqno, seqno % 3 === 0);
  }
  if (pending === 0) await ledger.flush();
  return ledger;
}

test("the state file is replaced atomically and read back; commit-only changes are throttled", async () => {
  const dir = join(mkdtempSync(join(tmpdir(), "coterie-raft-state-")), "raft");
  assert.equal(readPersistedState(dir), null);
  writePersistedState(dir, { term: 3, vote: "b", commit: 7, initialConfiguration: ["a"] }, true);
  assert.deepEqual(readPersistedState(dir), { term: 3, vote: "b", commit: 7, initialConfiguration: ["a"] });
  const ledger = await ledgerWith(join(dir, "..", "ledger"), 12, 0);
  const storage = new LedgerStorage({
    ledger,
    views: new ViewHistory(1),
    dir,
    state: readPersistedState(dir)!,
  });
  const t0 = Date.now();
  storage.setHardState({ term: 4, vote: "a", commit: 7 });
  assert.equal(readPersistedState(dir)?.term, 4, "a new term is written at once");
  storage.setHardState({ term: 4, vote: "a", commit: 9 });
  // Only meaningful if the machine did not stall past the throttle (COMMIT_WRITE_MS) between the two calls.
  if (Date.now() - t0 < 150) {
    assert.equal(readPersistedState(dir)?.commit, 7, "a commit change alone waits for the next write");
  }
  storage.setHardState({ term: 5, vote: null, commit: 9 });
  assert.deepEqual(readPersistedState(dir), { term: 5, vote: null, commit: 9, initialConfiguration: ["a"] });
  assert.deepEqual(storage.hardState(), { term: 5, vote: null, commit: 9 });
});

test("the state file never records a commit beyond what the node's own ledger holds on disk, and always one at a signature", async () => {
  // A leader commits on its followers' acknowledgements before its own flush returns, and a backup
  // learns a commit with entries it has not flushed yet: a restart must find its commit in its ledger.
  const dir = join(mkdtempSync(join(tmpdir(), "coterie-raft-state-")), "raft");
  const ledger = await ledgerWith(join(dir, "..", "ledger"), 6, 6);
  const state = { term: 1, vote: "a", commit: 0, initialConfiguration: ["a"] };
  const storage = new LedgerStorage({ ledger, views: new ViewHistory(1), dir, state });
  storage.setHardState({ term: 2, vote: "a", commit: 12 });
  assert.equal(readPersistedState(dir)?.commit, 6, "written: the durable seqno");
  assert.deepEqual(storage.hardState(), { term: 2, vote: "a", commit: 12 }, "known: the commit itself");
  await ledger.flush();
  storage.setHardState({ term: 3, vote: "a", commit: 12 });
  assert.equal(readPersistedState(dir)?.commit, 12);

  // The disk ends between signatures (seqno 7, after the signature at 6): the commit written is the
  // last signature on disk, since a commit is always a signature's seqno.
  const dir2 = join(mkdtempSync(join(tmpdir(), "coterie-raft-state-")), "raft");
  const ledger2 = await ledgerWith(join(dir2, "..", "ledger"), 7, 5);
  const storage2 = new LedgerStorage({ ledger: ledger2, views: new ViewHistory(1), dir: dir2, state });
  storage2.setHardState({ term: 2, vote: "a", commit: 12 });
  assert.equal(readPersistedState(dir2)?.commit, 6, "written: the last signature on disk");
  await ledger2.flush();
  storage2.setHardState({ term: 3, vote: "a", commit: 12 });
  assert.equal(readPersistedState(dir2)?.commit, 12, "once on disk, the commit itself");
});
