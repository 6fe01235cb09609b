// The browser-safe RFC 9162 verifier (WebCrypto) against the published vectors when ../shared is
// present, and against the naive recursive implementation of test/unit/crypto/rfc9162-naive.ts.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  emptyTreeRoot,
  inclusionProofSides,
  leafHash,
  nodeHash,
  rootFromInclusionProof,
  rootFromLeafHashes,
  verifyConsistencyProof,
  verifyInclusionProof,
} from "../../../src/crypto/merkle.ts";
import {
  loadRfc9162Vectors,
  naiveConsistency,
  naiveLeafHash,
  naivePath,
  naiveRoot,
  sha256,
  syntheticLeafHashes,
} from "./rfc9162-naive.ts";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const loaded = loadRfc9162Vectors();
if ("skip" in loaded) console.log(`# skipping vector tests: ${loaded.skip}`);
const vectorSkip = "skip" in loaded ? loaded.skip : false;

describe("RFC 9162 §2.1.1 hashing", () => {
  test("leaf = SHA-256(0x00 ‖ d), node = SHA-256(0x01 ‖ l ‖ r), empty root = SHA-256('')", async () => {
    const d = Buffer.from("coterie");
    assert.equal(hex(await leafHash(d)), hex(sha256(Buffer.from([0]), d)));
    const l = naiveLeafHash(Buffer.from("l"));
    const r = naiveLeafHash(Buffer.from("r"));
    assert.equal(hex(await nodeHash(l, r)), hex(sha256(Buffer.from([1]), l, r)));
    assert.equal(hex(await emptyTreeRoot()), hex(sha256()));
    await assert.rejects(nodeHash(new Uint8Array(31), r), RangeError);
  });

  test("vectors: root of every size 0..8", { skip: vectorSkip }, async () => {
    if ("skip" in loaded) return;
    const leaves = await Promise.all(loaded.vectors.leaves_hex.map((h) => leafHash(Buffer.from(h, "hex"))));
    for (const [size, root] of Object.entries(loaded.vectors.roots_by_size)) {
      assert.equal(hex(await rootFromLeafHashes(leaves.slice(0, Number(size)))), root, `size ${size}`);
    }
  });

  test("synthetic: root of every size 0..70 equals the naive MTH", async () => {
    const leaves = syntheticLeafHashes(70, 3);
    for (let size = 0; size <= 70; size++) {
      assert.equal(
        hex(await rootFromLeafHashes(leaves.slice(0, size))),
        hex(naiveRoot(leaves.slice(0, size))),
      );
    }
  });
});

describe("RFC 9162 §2.1.3.2 verifying an inclusion proof", () => {
  test("vectors: every published path of the 8-leaf tree verifies", { skip: vectorSkip }, async () => {
    if ("skip" in loaded) return;
    const root = Buffer.from(loaded.vectors.roots_by_size["8"]!, "hex");
    for (const [index, pathHex] of Object.entries(loaded.vectors.inclusion_paths_size_8)) {
      const leaf = await leafHash(Buffer.from(loaded.vectors.leaves_hex[Number(index)]!, "hex"));
      const path = pathHex.map((h) => Buffer.from(h, "hex"));
      assert.ok(await verifyInclusionProof(leaf, Number(index), 8, path, root), `leaf ${index}`);
      assert.ok(
        !(await verifyInclusionProof(leaf, (Number(index) + 1) % 8, 8, path, root)),
        `moved ${index}`,
      );
    }
  });

  test("synthetic: every PATH of trees up to 33 leaves verifies; tampering fails", async () => {
    const leaves = syntheticLeafHashes(33, 4);
    for (let size = 1; size <= 33; size++) {
      const prefix = leaves.slice(0, size);
      const root = naiveRoot(prefix);
      for (let m = 0; m < size; m++) {
        const path = naivePath(m, prefix);
        assert.equal(inclusionProofSides(m, size).length, path.length);
        assert.ok(await verifyInclusionProof(leaves[m]!, m, size, path, root), `PATH(${m}, D[${size}])`);
        if (path.length > 0) {
          const bad = path.map((h) => Buffer.from(h));
          bad[bad.length - 1]![31]! ^= 0x80;
          assert.ok(!(await verifyInclusionProof(leaves[m]!, m, size, bad, root)));
          assert.ok(!(await verifyInclusionProof(leaves[m]!, m, size, path.slice(1), root)));
          assert.ok(!(await verifyInclusionProof(leaves[m]!, m, size, [...path, root], root)));
        }
      }
    }
  });

  test("the path shape follows the RFC: right edge nodes carried up unchanged", () => {
    assert.deepEqual(inclusionProofSides(0, 1), []);
    assert.deepEqual(inclusionProofSides(0, 8), ["right", "right", "right"]);
    assert.deepEqual(inclusionProofSides(7, 8), ["left", "left", "left"]);
    assert.deepEqual(inclusionProofSides(4, 5), ["left"]);
    assert.deepEqual(inclusionProofSides(5, 7), ["left", "right", "left"]);
    assert.deepEqual(inclusionProofSides(6, 7), ["left", "left"]);
    assert.throws(() => inclusionProofSides(3, 3), RangeError);
    assert.throws(() => inclusionProofSides(-1, 3), RangeError);
  });

  test("sizes beyond 2^32 use arithmetic, not 32-bit shifts", async () => {
    const size = 2 ** 40 + 3;
    const sides = inclusionProofSides(2 ** 40 + 1, size);
    assert.deepEqual(sides, ["left", "right", "left"]);
    assert.equal(inclusionProofSides(0, size).length, 41);
    const leaf = naiveLeafHash(Buffer.from("x"));
    assert.equal(await rootFromInclusionProof(leaf, size, size, []), null);
  });
});

describe("RFC 9162 §2.1.4.2 verifying a consistency proof", () => {
  test("synthetic: PROOF(m, D[n]) verifies for all 0 <= m <= n <= 24", async () => {
    const leaves = syntheticLeafHashes(24, 5);
    for (let n = 0; n <= 24; n++) {
      const second = naiveRoot(leaves.slice(0, n));
      for (let m = 0; m <= n; m++) {
        const first = naiveRoot(leaves.slice(0, m));
        const proof = m === 0 || m === n ? [] : naiveConsistency(m, leaves.slice(0, n));
        assert.ok(await verifyConsistencyProof(m, n, first, second, proof), `PROOF(${m}, D[${n}])`);
        if (proof.length > 0) {
          assert.ok(!(await verifyConsistencyProof(m, n, first, second, proof.slice(0, -1))));
          assert.ok(!(await verifyConsistencyProof(m, n, second, first, proof)));
        }
      }
    }
  });

  test("edge cases: empty first tree, equal sizes, first > second", async () => {
    const leaves = syntheticLeafHashes(4);
    const r4 = naiveRoot(leaves);
    assert.ok(await verifyConsistencyProof(0, 4, sha256(), r4, []));
    assert.ok(!(await verifyConsistencyProof(0, 4, r4, r4, [])));
    assert.ok(await verifyConsistencyProof(4, 4, r4, r4, []));
    assert.ok(!(await verifyConsistencyProof(4, 4, r4, r4, [r4])));
    assert.ok(!(await verifyConsistencyProof(5, 4, r4, r4, [])));
    assert.ok(!(await verifyConsistencyProof(2, 4, naiveRoot(leaves.slice(0, 2)), r4, [])));
  });
});
