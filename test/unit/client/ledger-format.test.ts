// The browser ledger reader's pieces against the node's: CRC-32 against zlib, the peak-based
// Merkle root against the RFC 9162 reference, and the map names shared with src/tables and src/ledger.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import { crc32 as zlibCrc32 } from "node:zlib";
import { crc32, decodeEntry, decodeWriteSet, scanFrame } from "../../../src/client/ledger-format.ts";
import {
  MerklePeaks,
  SERVICE_INFO_KEY,
  SERVICE_INFO_MAP,
  SIGNATURES_MAP,
  SNAPSHOT_EVIDENCE_MAP,
} from "../../../src/client/ledger-verify.ts";
import { leafHash, rootFromLeafHashes, toHex } from "../../../src/crypto/merkle.ts";
import { frameEntries } from "../../../src/ledger/chunk-format.ts";
import { EntryKind, encodeEntry } from "../../../src/ledger/entry.ts";
import { leafHashSync, MerkleTree } from "../../../src/ledger/merkle-tree.ts";
import { SIGNATURES_MAP as LEDGER_SIGNATURES_MAP } from "../../../src/ledger/signature.ts";
import { treeFrontier } from "../../../src/ledger/snapshot-frontier.ts";
import { encodeWriteSet } from "../../../src/ledger/write-set-codec.ts";
import { snapshotEvidence } from "../../../src/tables/secrets.ts";
import {
  SERVICE_INFO_KEY as TABLE_SERVICE_INFO_KEY,
  SERVICE_INFO_MAP as TABLE_SERVICE_INFO_MAP,
} from "../../../src/tables/service.ts";

test("CRC-32 matches zlib on the check value and random inputs", () => {
  assert.equal(crc32(new TextEncoder().encode("123456789")), 0xcbf43926);
  for (let n = 0; n < 300; n += 7) {
    const b = randomBytes(n);
    assert.equal(crc32(b), zlibCrc32(b));
  }
});

test("MerklePeaks gives the RFC 9162 root for every size up to 70", async () => {
  const peaks = new MerklePeaks();
  const leaves: Uint8Array[] = [];
  assert.equal(toHex(await peaks.root()), toHex(await rootFromLeafHashes([])));
  for (let i = 0; i < 70; i++) {
    const leaf = await leafHash(new Uint8Array([i]));
    leaves.push(leaf);
    await peaks.append(leaf);
    assert.equal(toHex(await peaks.root()), toHex(await rootFromLeafHashes(leaves)), `size ${i + 1}`);
  }
});

test("MerklePeaks continued from a snapshot's frontier gives the node tree's roots", async () => {
  const full = new MerkleTree();
  for (let size = 0; size <= 70; size++) {
    if (size > 0) full.append(leafHashSync(new Uint8Array([size])));
    const peaks = MerklePeaks.fromFrontier(size, treeFrontier(full, size));
    const tree = MerkleTree.fromFrontier(size, treeFrontier(full, size));
    assert.equal(toHex(await peaks.root()), full.root(size).toString("hex"), `size ${size}`);
    for (let k = 1; k <= 9; k++) {
      const leaf = leafHashSync(new Uint8Array([size, k]));
      await peaks.append(leaf);
      tree.append(leaf);
      assert.equal(toHex(await peaks.root()), tree.root(size + k).toString("hex"), `size ${size} + ${k}`);
    }
  }
  // A frontier that does not fit its size: the node's words.
  const frontier = treeFrontier(full, 70);
  for (const [size, hashes] of [
    [71, frontier],
    [70, frontier.slice(1)],
  ] as const) {
    let node = "";
    try {
      MerkleTree.fromFrontier(size, hashes);
    } catch (e) {
      node = (e as Error).message;
    }
    assert.throws(() => MerklePeaks.fromFrontier(size, hashes), { name: "RangeError", message: node });
  }
});

test("map names and keys agree with src/tables and src/ledger", () => {
  assert.equal(SERVICE_INFO_MAP, TABLE_SERVICE_INFO_MAP);
  assert.equal(SERVICE_INFO_KEY, TABLE_SERVICE_INFO_KEY);
  assert.equal(SNAPSHOT_EVIDENCE_MAP, snapshotEvidence.name);
  assert.equal(SIGNATURES_MAP, LEDGER_SIGNATURES_MAP);
});

test("entries and write sets written by src/ledger decode the same in the browser reader", () => {
  const ws = [
    {
      name: "public:m",
      writes: [
        { key: new Uint8Array([1]), value: new Uint8Array([2, 3]) },
        { key: new Uint8Array([4]), value: null },
      ],
    },
  ];
  assert.deepEqual(
    decodeWriteSet(encodeWriteSet(ws)).map((m) => ({
      name: m.name,
      writes: m.writes.map((w) => [[...w.key], w.value && [...w.value]]),
    })),
    [
      {
        name: "public:m",
        writes: [
          [[1], [2, 3]],
          [[4], null],
        ],
      },
    ],
  );
  const entry = encodeEntry(
    {
      kind: EntryKind.transaction,
      view: 3,
      seqno: 9,
      publicWrites: ws,
      privateWrites: [],
      claimsDigest: new Uint8Array(32).fill(7),
      commitEvidenceDigest: new Uint8Array(32).fill(8),
    },
    null,
  );
  const frame = new Uint8Array(frameEntries([entry.bytes]));
  const scan = scanFrame(frame, 0);
  assert.ok(scan.ok);
  const e = decodeEntry(scan.entry);
  assert.deepEqual([e.view, e.seqno, e.kind, e.claimsDigest[0], e.commitEvidenceDigest[0]], [3, 9, 0, 7, 8]);
  frame[10] = (frame[10] as number) ^ 1;
  assert.deepEqual(scanFrame(frame, 0), { ok: false, reason: "bad-crc", at: 0 });
  assert.deepEqual(scanFrame(frame.subarray(0, frame.length - 1), 0), {
    ok: false,
    reason: "truncated",
    at: 0,
  });
});
