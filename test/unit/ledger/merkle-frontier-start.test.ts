/** A tree started from a frontier at size N: exact roots and appends, refused proofs below N. */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import { verifyInclusionProof } from "../../../src/crypto/merkle.ts";
import { leafHashSync, MerkleTree, PRE_FRONTIER_MESSAGE } from "../../../src/ledger/merkle-tree.ts";
import { treeFrontier } from "../../../src/ledger/snapshot-frontier.ts";

function leaf(i: number): Buffer {
  return leafHashSync(createHash("sha256").update(`leaf ${i}`).digest());
}

const TOTAL = 70;

test("a frontier-started tree has a full tree's root at every size and after every append", () => {
  const full = new MerkleTree();
  for (let i = 0; i < TOTAL; i++) full.append(leaf(i));
  for (let start = 1; start < TOTAL; start++) {
    const tree = MerkleTree.fromFrontier(start, treeFrontier(full, start));
    assert.equal(tree.size, start);
    assert.deepEqual(tree.root(), full.root(start), `root at start ${start}`);
    for (let i = start; i < TOTAL; i++) {
      assert.equal(tree.append(leaf(i)), i);
      assert.deepEqual(tree.root(), full.root(i + 1), `root at ${i + 1} from start ${start}`);
    }
    for (let size = start; size <= TOTAL; size++) assert.deepEqual(tree.root(size), full.root(size));
  }
});

test("proofs for leaves at or after the start equal the full tree's and verify", async () => {
  const full = new MerkleTree();
  for (let i = 0; i < TOTAL; i++) full.append(leaf(i));
  for (const start of [1, 5, 8, 13, 32, 63]) {
    const tree = MerkleTree.fromFrontier(start, treeFrontier(full, start));
    for (let i = start; i < TOTAL; i++) tree.append(leaf(i));
    for (let i = start; i < TOTAL; i += 3) {
      const proof = tree.inclusionProof(i);
      assert.deepEqual(proof, full.inclusionProof(i), `proof of ${i} from start ${start}`);
      assert.ok(await verifyInclusionProof(leaf(i), i, TOTAL, proof, full.root()));
    }
    assert.deepEqual(tree.consistencyProof(start, TOTAL), full.consistencyProof(start, TOTAL));
  }
});

test("anything below the frontier is refused with a clear error", () => {
  const full = new MerkleTree();
  for (let i = 0; i < 20; i++) full.append(leaf(i));
  const tree = MerkleTree.fromFrontier(13, treeFrontier(full, 13));
  tree.append(leaf(13));
  const refused = { name: "RangeError", message: PRE_FRONTIER_MESSAGE };
  assert.throws(() => tree.inclusionProof(0), refused);
  assert.throws(() => tree.inclusionProof(12), refused);
  assert.throws(() => tree.leaf(3), refused);
  assert.throws(() => tree.root(12), refused);
  assert.throws(() => tree.truncate(12), refused);
  assert.throws(() => tree.consistencyProof(5, 14), refused);
  tree.truncate(13);
  assert.deepEqual(tree.root(), full.root(13));
  assert.throws(() => MerkleTree.fromFrontier(13, treeFrontier(full, 12)), /has 3 hashes, got 2/);
});
