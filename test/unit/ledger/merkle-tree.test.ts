// The node's incremental Merkle tree against RFC 9162: the published vectors (when ../shared is
// present), a naive recursive implementation of §2.1.1–2.1.4 for random sizes, and the browser-safe
// verifier in src/crypto/merkle.ts for every proof it produces.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  inclusionProofSides,
  verifyConsistencyProof,
  verifyInclusionProof,
} from "../../../src/crypto/merkle.ts";
import { leafHashSync, MerkleTree, nodeHashSync } from "../../../src/ledger/merkle-tree.ts";
import {
  loadRfc9162Vectors,
  naiveConsistency,
  naiveLeafHash,
  naivePath,
  naiveRoot,
  seededRandom,
  syntheticLeafHashes,
} from "../crypto/rfc9162-naive.ts";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const loaded = loadRfc9162Vectors();
if ("skip" in loaded) console.log(`# skipping vector tests: ${loaded.skip}`);
const vectorSkip = "skip" in loaded ? loaded.skip : false;

function treeOf(leafHashes: readonly Buffer[]): MerkleTree {
  const tree = new MerkleTree();
  for (const h of leafHashes) tree.append(h);
  return tree;
}

describe("RFC 9162 §2.1.1 Merkle Tree Hash (vectors)", () => {
  test("root for every size 0..8 equals the published root", { skip: vectorSkip }, () => {
    if ("skip" in loaded) return;
    const leaves = loaded.vectors.leaves_hex.map((h) => leafHashSync(Buffer.from(h, "hex")));
    const tree = treeOf(leaves);
    const sizes = Object.keys(loaded.vectors.roots_by_size);
    assert.equal(sizes.length, 9);
    for (const size of sizes) {
      assert.equal(hex(tree.root(Number(size))), loaded.vectors.roots_by_size[size], `size ${size}`);
      // Built incrementally to exactly that size too, not only as a prefix of the 8-leaf tree.
      assert.equal(hex(treeOf(leaves.slice(0, Number(size))).root()), loaded.vectors.roots_by_size[size]);
    }
  });
});

describe("RFC 9162 §2.1.3.1 inclusion proofs (vectors)", () => {
  test("every inclusion path in the 8-leaf tree equals the published path", {
    skip: vectorSkip,
  }, async () => {
    if ("skip" in loaded) return;
    const leaves = loaded.vectors.leaves_hex.map((h) => leafHashSync(Buffer.from(h, "hex")));
    const tree = treeOf(leaves);
    const root = tree.root(8);
    const entries = Object.entries(loaded.vectors.inclusion_paths_size_8);
    assert.equal(entries.length, 8);
    for (const [index, path] of entries) {
      const proof = tree.inclusionProof(Number(index), 8);
      assert.deepEqual(proof.map(hex), path, `leaf ${index}`);
      assert.ok(await verifyInclusionProof(leaves[Number(index)]!, Number(index), 8, proof, root));
    }
  });
});

describe("RFC 9162 §2.1.1 hashing (synthetic)", () => {
  test("leaf and node hashes use the 0x00 and 0x01 prefixes", () => {
    assert.equal(hex(leafHashSync(new Uint8Array(0))), hex(naiveLeafHash(new Uint8Array(0))));
    const l = leafHashSync(Buffer.from("a"));
    const r = leafHashSync(Buffer.from("b"));
    assert.equal(hex(treeOf([l, r]).root()), hex(nodeHashSync(l, r)));
    assert.equal(
      hex(new MerkleTree().root()),
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    );
  });
});

describe("RFC 9162 §2.1.1–2.1.4 property test against a naive implementation", () => {
  const random = seededRandom(9162);
  const sizes = [1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129, 255, 256, 257];
  for (let i = 0; i < 12; i++) sizes.push(1 + Math.floor(random() * 300));
  const leaves = syntheticLeafHashes(300, 7);
  const tree = treeOf(leaves);

  test("§2.1.1 root of every prefix size 0..300 equals MTH", () => {
    for (let size = 0; size <= 300; size++) {
      assert.equal(hex(tree.root(size)), hex(naiveRoot(leaves.slice(0, size))), `size ${size}`);
    }
  });

  test("§2.1.3.1 inclusion proofs equal PATH and verify by §2.1.3.2", async () => {
    for (const size of sizes) {
      const prefix = leaves.slice(0, size);
      const root = tree.root(size);
      for (let m = 0; m < size; m++) {
        const proof = tree.inclusionProof(m, size);
        assert.deepEqual(proof.map(hex), naivePath(m, prefix).map(hex), `PATH(${m}, D[${size}])`);
        // The steps a receipt is built from: the same hashes, each on the side the verifier hashes it.
        const steps = tree.inclusionSteps(m, size);
        assert.deepEqual(
          steps.map((s) => hex(s.hash)),
          proof.map(hex),
          `steps of ${m} in ${size}`,
        );
        assert.deepEqual(
          steps.map((s) => (s.left ? "left" : "right")),
          inclusionProofSides(m, size),
          `sides of ${m} in ${size}`,
        );
        // The JSON receipt's form, memoised per size: the same steps in hex.
        assert.deepEqual(
          tree.inclusionStepsHex(m, size),
          steps.map((s) => ({ hex: hex(s.hash), left: s.left })),
          `hex steps of ${m} in ${size}`,
        );
        // Verifying all of them through WebCrypto is slow; every proof of small trees, a sample of the rest.
        if (size <= 40 || random() < 0.05) {
          assert.ok(await verifyInclusionProof(leaves[m]!, m, size, proof, root), `verify ${m} in ${size}`);
        }
      }
    }
  });

  test("§2.1.4.1 consistency proofs equal PROOF and verify by §2.1.4.2", async () => {
    for (const size of sizes) {
      const step = size > 40 ? Math.ceil(size / 25) : 1;
      for (let m = 0; m <= size; m += step) {
        const proof = tree.consistencyProof(m, size);
        const expected = m === 0 || m === size ? [] : naiveConsistency(m, leaves.slice(0, size));
        assert.deepEqual(proof.map(hex), expected.map(hex), `PROOF(${m}, D[${size}])`);
        assert.ok(
          await verifyConsistencyProof(m, size, tree.root(m), tree.root(size), proof),
          `${m}->${size}`,
        );
      }
    }
  });

  test("§2.1.4.2 a consistency proof fails for other roots or a changed hash", async () => {
    const proof = tree.consistencyProof(5, 11);
    assert.ok(await verifyConsistencyProof(5, 11, tree.root(5), tree.root(11), proof));
    assert.ok(!(await verifyConsistencyProof(5, 11, tree.root(6), tree.root(11), proof)));
    assert.ok(!(await verifyConsistencyProof(5, 11, tree.root(5), tree.root(12), proof)));
    for (let i = 0; i < proof.length; i++) {
      const bad = proof.map((h) => Buffer.from(h));
      bad[i]![0]! ^= 1;
      assert.ok(!(await verifyConsistencyProof(5, 11, tree.root(5), tree.root(11), bad)), `hash ${i}`);
    }
    assert.ok(!(await verifyConsistencyProof(5, 11, tree.root(5), tree.root(11), proof.slice(1))));
  });
});

describe("MerkleTree truncate (rollback)", () => {
  test("truncating then appending other leaves gives the naive roots and proofs", () => {
    const first = syntheticLeafHashes(200, 1);
    const other = syntheticLeafHashes(200, 2);
    const random = seededRandom(42);
    const tree = treeOf(first);
    let model = [...first];
    for (let round = 0; round < 30; round++) {
      const size = Math.floor(random() * (tree.size + 1));
      tree.truncate(size);
      model = model.slice(0, size);
      const extra = Math.floor(random() * 60);
      for (let i = 0; i < extra; i++) {
        const h = other[(round * 7 + i) % other.length]!;
        tree.append(h);
        model.push(h);
      }
      assert.equal(tree.size, model.length);
      assert.equal(hex(tree.root()), hex(naiveRoot(model)), `round ${round}`);
      if (model.length > 0) {
        const m = Math.floor(random() * model.length);
        assert.deepEqual(tree.inclusionProof(m).map(hex), naivePath(m, model).map(hex));
        assert.equal(hex(tree.leaf(m)), hex(model[m]!));
      }
    }
  });

  test("proofs and roots of a size asked again after a rollback use the new leaves", () => {
    // The tree keeps the folded right edges of recent sizes: a rollback that refills the same sizes
    // with other leaves must not answer from them.
    const first = syntheticLeafHashes(100, 3);
    const other = syntheticLeafHashes(100, 4);
    const tree = treeOf(first);
    const sizes = [100, 77, 63, 45]; // no more than the tree keeps
    for (const size of sizes) {
      tree.root(size);
      tree.inclusionProof(size - 1, size);
      tree.inclusionProof(0, size);
    }
    tree.truncate(40);
    for (const h of other.slice(40)) tree.append(h);
    const model = [...first.slice(0, 40), ...other.slice(40)];
    for (const size of sizes) {
      assert.equal(hex(tree.root(size)), hex(naiveRoot(model.slice(0, size))), `root ${size}`);
      for (const index of [0, 39, 41, size - 1]) {
        assert.deepEqual(
          tree.inclusionProof(index, size).map(hex),
          naivePath(index, model.slice(0, size)).map(hex),
          `leaf ${index} of ${size}`,
        );
      }
    }
  });

  test("hex steps of a size asked again after a rollback are the new leaves' hashes", () => {
    const first = syntheticLeafHashes(64, 8);
    const other = syntheticLeafHashes(64, 9);
    const tree = treeOf(first);
    for (let index = 0; index < 64; index++) tree.inclusionStepsHex(index, 64);
    tree.truncate(30);
    for (const h of other.slice(30)) tree.append(h);
    const model = [...first.slice(0, 30), ...other.slice(30)];
    for (let index = 0; index < 64; index++) {
      assert.deepEqual(
        tree.inclusionStepsHex(index, 64).map((s) => s.hex),
        naivePath(index, model).map(hex),
        `leaf ${index}`,
      );
    }
  });

  test("proofs for many sizes in turn, each asked twice, match the naive paths", () => {
    const leaves = syntheticLeafHashes(300, 5);
    const tree = treeOf(leaves);
    const random = seededRandom(7);
    for (let round = 0; round < 200; round++) {
      const size = 1 + Math.floor(random() * 300);
      const index = Math.floor(random() * size);
      const expected = naivePath(index, leaves.slice(0, size)).map(hex);
      assert.deepEqual(tree.inclusionProof(index, size).map(hex), expected, `leaf ${index} of ${size}`);
      assert.deepEqual(
        tree.inclusionProof(index, size).map(hex),
        expected,
        `again, leaf ${index} of ${size}`,
      );
    }
  });

  test("truncate to 0 gives the empty root", () => {
    const tree = treeOf(syntheticLeafHashes(33));
    tree.truncate(0);
    assert.equal(tree.size, 0);
    assert.equal(hex(tree.root()), hex(naiveRoot([])));
  });
});

describe("MerkleTree bad input and limits", () => {
  test("rejects wrong leaf hashes, out-of-range sizes and indices", () => {
    const tree = treeOf(syntheticLeafHashes(10));
    assert.throws(() => tree.append(new Uint8Array(31)), TypeError);
    assert.throws(() => tree.root(11), RangeError);
    assert.throws(() => tree.root(-1), RangeError);
    assert.throws(() => tree.inclusionProof(10, 10), RangeError);
    assert.throws(() => tree.inclusionProof(0, 11), RangeError);
    assert.throws(() => tree.consistencyProof(6, 5), RangeError);
    assert.throws(() => tree.truncate(11), RangeError);
    assert.throws(() => tree.leaf(-1), RangeError);
    assert.throws(() => tree.leaf(10), RangeError);
  });

  test("leavesMax bounds the tree", () => {
    const tree = new MerkleTree({ leavesMax: 3 });
    for (const h of syntheticLeafHashes(3)) tree.append(h);
    assert.throws(() => tree.append(naiveLeafHash(Buffer.from("x"))), RangeError);
  });

  test("memory stays near 64 bytes per leaf (2^17 leaves)", () => {
    const leaves = 2 ** 17;
    const tree = new MerkleTree();
    const h = naiveLeafHash(Buffer.from("leaf"));
    for (let i = 0; i < leaves; i++) tree.append(h);
    const bytes = tree.bytesAllocated();
    assert.ok(bytes <= leaves * 64 + 64 * 1024, `${bytes} bytes for ${leaves} leaves`);
    assert.ok(bytes >= leaves * 32, "leaf hashes are stored");
  });
});
