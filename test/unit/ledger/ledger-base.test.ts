/** A ledger that starts after a snapshot: files from s + 1, tree continued from the frontier. */
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { test } from "node:test";
import { decodeEntry, EntryKind, leafOf, writeSetDigestOf } from "../../../src/ledger/entry.ts";
import { Ledger } from "../../../src/ledger/ledger.ts";
import { treeFrontier } from "../../../src/ledger/snapshot-frontier.ts";
import { makeIdentity, tempDir, writeLedger } from "./helpers.ts";

const options = { chunkBytesMax: 4096, batchBytesMax: 64 * 1024 };

test("a ledger started after seqno s holds s + 1.., with the full ledger's roots; reopens only with its base", async () => {
  const id = await makeIdentity();
  const full = await writeLedger(tempDir(), id, 40, 5, options);
  const s = full.signatureSeqnos[3] as number;
  const base = { seqno: s, frontier: treeFrontier(full.tree, s) };
  const dir = tempDir();
  const { ledger } = Ledger.open(dir, options, () => {}, base);
  assert.equal(ledger.firstSeqno, s + 1);
  assert.equal(ledger.lastSeqno, s);
  assert.deepEqual(ledger.tree.root(), full.tree.root(s));
  for (let seqno = s + 1; seqno <= full.lastSeqno; seqno++) {
    const bytes = full.files.read(seqno);
    const decoded = decodeEntry(bytes);
    const entry = { bytes, leaf: leafOf(decoded), writeSetDigest: writeSetDigestOf(decoded) };
    ledger.append(entry, seqno, decoded.header.kind === EntryKind.signature);
    assert.deepEqual(ledger.tree.root(), full.tree.root(seqno), `root at ${seqno}`);
  }
  await ledger.flush();
  assert.equal(ledger.lastSignatureAtOrBefore(s), s, "the snapshot seqno counts as a signature");
  await ledger.close();
  const first = readdirSync(dir)
    .filter((n) => n.endsWith(".chunk"))
    .sort()[0];
  assert.equal(first, `ledger_${String(s + 1).padStart(12, "0")}.chunk`);

  const seen: number[] = [];
  const { ledger: reopened } = Ledger.open(dir, options, (e) => seen.push(e.seqno), base);
  assert.equal(seen[0], s + 1);
  assert.deepEqual(reopened.tree.root(), full.tree.root());
  assert.throws(() => reopened.tree.inclusionProof(s - 1), /older ledger/);
  await reopened.close();
  assert.throws(() => Ledger.open(dir, options), { code: "COTERIE_ERR_LEDGER_CORRUPT" });
  await full.close();
});
