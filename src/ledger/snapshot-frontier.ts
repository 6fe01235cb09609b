/**
 * The RFC 9162 frontier of a tree of `size` leaves: the roots of the perfect subtrees that cover
 * leaves [0, size), left to right — one per set bit of `size`. With it a tree can be continued
 * (appends and roots) without the earlier leaves; proofs for those leaves need the older ledger.
 *
 * It is read off the inclusion path of the last leaf: the path's first log2(lowest set bit) hashes
 * are left siblings inside the last subtree (folding them onto the leaf gives that subtree's root),
 * the rest are the other subtrees' roots, right to left.
 */
import { assert } from "../util/assert.ts";
import { type MerkleTree, nodeHashSync } from "./merkle-tree.ts";

export function treeFrontier(tree: MerkleTree, size: number): Buffer[] {
  if (size === 0) return [];
  const path = tree.inclusionProof(size - 1, size);
  let inner = 0; // log2 of the lowest set bit of size (no 32-bit bit operations: sizes reach 2^32)
  while (size % 2 ** (inner + 1) === 0) inner++;
  let last = tree.leaf(size - 1);
  for (let i = 0; i < inner; i++) last = nodeHashSync(path[i] as Buffer, last);
  const frontier = [...path.slice(inner).reverse(), last];
  assert(frontier.length === popCount(size), "one subtree per set bit of the size");
  return frontier;
}

/** MTH of the whole tree from its frontier: fold right to left. */
export function rootFromFrontier(frontier: readonly Uint8Array[]): Buffer {
  assert(frontier.length > 0, "a non-empty tree");
  let acc: Buffer = Buffer.from(frontier[frontier.length - 1] as Uint8Array);
  for (let i = frontier.length - 2; i >= 0; i--) acc = nodeHashSync(frontier[i] as Uint8Array, acc);
  return acc;
}

function popCount(n: number): number {
  let count = 0;
  for (let x = n; x > 0; x = Math.floor(x / 2)) count += x % 2;
  return count;
}
