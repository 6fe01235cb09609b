/**
 * The node's incremental RFC 9162 Merkle tree over the ledger's transactions (leaf i = seqno i+1).
 * Synchronous and fast (node:crypto); verifiers use the browser-safe `src/crypto/merkle.ts`, and a
 * property test checks that every root and proof made here verifies there.
 *
 * Layout: level k holds the hash of every *complete* subtree of 2^k leaves, in order — level 0 the
 * leaf hashes, level 1 the hashes of pairs, and so on. A node is stored once its subtree is full,
 * so appends never rewrite anything, truncation only shortens levels, and the root of any prefix
 * is the fold of at most log2(n) stored subtrees (O(log n) hashes). Levels are chunked Buffers of
 * raw 32-byte hashes: n leaves take about 2n × 32 bytes (64 MB for 2^20 leaves), with no per-node
 * objects for the garbage collector to walk.
 */
import { createHash, hash } from "node:crypto";
import { assert } from "../util/assert.ts";

export const HASH_BYTES = 32;

/** Leaves per chunk of a level (128 KiB). Only the last chunk of a level may be shorter. */
const CHUNK_HASHES = 4096;
/** First allocation of a level's last chunk; it doubles until it reaches CHUNK_HASHES. */
const CHUNK_HASHES_INITIAL = 16;

/** Tree sizes whose folded right edges `MerkleTree` keeps (each at most log2(n) hashes). */
const EDGE_SIZES_KEPT = 4;

/** Hex strings `inclusionStepsHex` keeps for one tree size (about 100 bytes each). */
const HEX_MEMO_MAX = 16_384;

/** Default cap on leaves: 2^32 leaves would already take 256 GiB here. */
export const LEAVES_MAX_DEFAULT = 2 ** 32;

/**
 * The inputs of leaf and interior hashes in the shapes the node hashes (a 96-byte leaf, two
 * 32-byte children), reused: hashing is synchronous, so one buffer of each serves every call
 * instead of two pool allocations per appended leaf.
 */
const leafInput = Buffer.allocUnsafeSlow(1 + 3 * HASH_BYTES);
const nodeInput = Buffer.allocUnsafeSlow(1 + 2 * HASH_BYTES);

/**
 * RFC 9162 §2.1.1 leaf hash SHA-256(0x00 ‖ d), synchronous; the node computes leaves with this.
 * One-shot hashes of one buffer: a Hash object per call cost more than the hashing itself, and
 * the digest comes back as latin1 text, which node returns in a third of the time of a Buffer
 * (src/crypto/hash.ts).
 */
export function leafHashSync(data: Uint8Array): Buffer {
  const input = data.length === leafInput.length - 1 ? leafInput : Buffer.allocUnsafe(1 + data.length);
  input[0] = 0x00;
  input.set(data, 1);
  return Buffer.from(hash("sha256", input, "binary"), "latin1");
}

/** RFC 9162 §2.1.1 interior node hash SHA-256(0x01 ‖ left ‖ right). */
export function nodeHashSync(left: Uint8Array, right: Uint8Array): Buffer {
  const exact = left.length === HASH_BYTES && right.length === HASH_BYTES;
  const input = exact ? nodeInput : Buffer.allocUnsafe(1 + left.length + right.length);
  input[0] = 0x01;
  input.set(left, 1);
  input.set(right, 1 + left.length);
  return Buffer.from(hash("sha256", input, "binary"), "latin1");
}

const EMPTY_ROOT = createHash("sha256").digest();

/** Why a tree started from a frontier refuses to look below it. */
export const PRE_FRONTIER_MESSAGE =
  "this tree starts from a snapshot frontier: leaves before it (and proofs for them) need the older ledger";

/** A growable array of 32-byte hashes stored in fixed-size Buffer chunks. */
class HashArray {
  private readonly chunks: Buffer[] = [];
  length = 0;
  /** Hashes below this index are not held (a tree started from a frontier). */
  readonly base: number;

  constructor(base = 0) {
    this.base = base;
    this.length = base;
  }

  get(index: number): Buffer {
    if (index < this.base) throw new RangeError(PRE_FRONTIER_MESSAGE);
    assert(index >= 0 && index < this.length, () => `hash index ${index} outside 0..${this.length}`);
    const at = index - this.base;
    const chunk = this.chunks[Math.floor(at / CHUNK_HASHES)]!;
    const offset = (at % CHUNK_HASHES) * HASH_BYTES;
    return chunk.subarray(offset, offset + HASH_BYTES);
  }

  push(hash: Uint8Array): void {
    assert(hash.length === HASH_BYTES, "a tree hash is 32 bytes");
    const at = this.length - this.base;
    const chunkIndex = Math.floor(at / CHUNK_HASHES);
    const offsetHashes = at % CHUNK_HASHES;
    let chunk = this.chunks[chunkIndex];
    if (chunk === undefined) {
      chunk = Buffer.allocUnsafe(CHUNK_HASHES_INITIAL * HASH_BYTES);
      this.chunks.push(chunk);
    } else if (chunk.length === offsetHashes * HASH_BYTES) {
      const grown = Buffer.allocUnsafe(Math.min(chunk.length * 2, CHUNK_HASHES * HASH_BYTES));
      chunk.copy(grown);
      this.chunks[chunkIndex] = chunk = grown;
    }
    chunk.set(hash, offsetHashes * HASH_BYTES);
    this.length++;
  }

  truncate(length: number): void {
    assert(length >= this.base && length <= this.length, "truncate only shortens, never below the base");
    this.length = length;
    this.chunks.length = Math.ceil((length - this.base) / CHUNK_HASHES);
  }

  bytesAllocated(): number {
    let total = 0;
    for (const c of this.chunks) total += c.length;
    return total;
  }
}

/** Options of `MerkleTree`; `leavesMax` bounds memory (about 64 bytes per leaf). */
export type MerkleTreeOptions = { leavesMax?: number };

/**
 * Incremental RFC 9162 Merkle tree. Ranges are over leaf indices; "size" always means a number of
 * leaves counted from index 0 (the first `size` leaves form the tree of that size).
 */
export class MerkleTree {
  /** levels[k] holds complete subtrees of 2^k leaves; levels[0] the leaf hashes. */
  private readonly levels: HashArray[] = [new HashArray()];
  private readonly leavesMax: number;
  /** Size of the frontier the tree started from (0: it holds every leaf). */
  readonly startSize: number = 0;
  /**
   * Hashes of incomplete ranges [lo, hi) already folded, by hi then lo: the right edge of the
   * trees whose roots and proofs were asked for lately. Every receipt of one signature needs the
   * right edge of the same tree size, so each is folded once per size instead of once per proof.
   * A stored hash changes only by truncation, which empties this.
   */
  private readonly edges = new Map<number, Map<number, Uint8Array>>();
  /** Hex of the ranges `inclusionStepsHex` looked up for one tree size (emptied by truncation). */
  private hexMemo: { size: number; byRange: Map<number, string> } = { size: -1, byRange: new Map() };

  constructor(options: MerkleTreeOptions = {}, start?: { size: number; frontier: readonly Uint8Array[] }) {
    this.leavesMax = options.leavesMax ?? LEAVES_MAX_DEFAULT;
    if (!Number.isSafeInteger(this.leavesMax) || this.leavesMax < 1) {
      throw new RangeError(`leavesMax must be a positive safe integer, got ${this.leavesMax}`);
    }
    if (start !== undefined && start.size > 0) {
      this.levels = frontierLevels(start.size, start.frontier);
      this.startSize = start.size;
    }
  }

  /**
   * A tree of `size` leaves known only by its RFC 9162 frontier (src/ledger/snapshot-frontier.ts):
   * roots of sizes >= `size`, appends, and proofs for leaves >= `size` are exact; anything that needs
   * an earlier leaf throws a RangeError (receipts for those transactions need the older ledger).
   */
  static fromFrontier(
    size: number,
    frontier: readonly Uint8Array[],
    options: MerkleTreeOptions = {},
  ): MerkleTree {
    return new MerkleTree(options, { size, frontier });
  }

  /** Number of leaves. */
  get size(): number {
    return this.levels[0]!.length;
  }

  /** Appends one leaf hash (already SHA-256(0x00 ‖ d)); returns its leaf index. */
  append(leafHash: Uint8Array): number {
    if (!(leafHash instanceof Uint8Array) || leafHash.length !== HASH_BYTES) {
      throw new TypeError("a leaf hash must be a 32-byte Uint8Array");
    }
    if (this.size >= this.leavesMax) throw new RangeError(`the tree is full (${this.leavesMax} leaves)`);
    const index = this.size;
    this.levels[0]!.push(leafHash);
    // Each time the new size is a multiple of 2^k, a subtree at level k has just become complete.
    let count = index + 1;
    for (let k = 1; count % 2 === 0; k++) {
      count /= 2;
      const below = this.levels[k - 1]!;
      const level = (this.levels[k] ??= new HashArray());
      assert(level.length === count - 1, "level k gains exactly one node when it completes");
      level.push(nodeHashSync(below.get(2 * count - 2), below.get(2 * count - 1)));
    }
    return index;
  }

  /** The hash of leaf `index`. */
  leaf(index: number): Buffer {
    if (!Number.isSafeInteger(index) || index < 0 || index >= this.size) {
      throw new RangeError(`leaf index ${index} is not below size ${this.size}`);
    }
    return Buffer.from(this.levels[0]!.get(index));
  }

  /** RFC 9162 §2.1.1 MTH of the first `size` leaves (default: all), in O(log n) hashes. */
  root(size: number = this.size): Buffer {
    this.checkSize(size, "size");
    if (size < this.startSize) throw new RangeError(PRE_FRONTIER_MESSAGE);
    if (size === 0) return Buffer.from(EMPTY_ROOT);
    return Buffer.from(this.rangeHash(0, size));
  }

  /** Drops every leaf from index `size` on (rollback of uncommitted entries). */
  truncate(size: number): void {
    this.checkSize(size, "size");
    if (size < this.startSize) throw new RangeError(PRE_FRONTIER_MESSAGE);
    let count = size;
    for (let k = 0; k < this.levels.length; k++) {
      this.levels[k]!.truncate(count);
      count = Math.floor(count / 2);
    }
    while (this.levels.length > 1 && this.levels[this.levels.length - 1]!.length === 0) this.levels.pop();
    this.edges.clear();
    this.hexMemo = { size: -1, byRange: new Map() };
  }

  /**
   * RFC 9162 §2.1.3.1 PATH(index, D[0:size]): sibling hashes from the leaf upward. Verify with
   * `verifyInclusionProof` of src/crypto/merkle.ts; `inclusionProofSides` there names each side.
   */
  inclusionProof(index: number, size: number = this.size): Buffer[] {
    return this.inclusionSteps(index, size).map((step) => Buffer.from(step.hash));
  }

  /**
   * The same path with each sibling's side (`left`: the sibling is hashed on the left), as
   * `inclusionProofSides` of src/crypto/merkle.ts names it. The hashes are views of the tree's
   * own buffers, valid until the next truncation: copy what you keep.
   */
  inclusionSteps(index: number, size: number = this.size): { hash: Uint8Array; left: boolean }[] {
    return this.pathRanges(index, size, (lo, hi, left) => ({ hash: this.rangeHash(lo, hi), left }));
  }

  /**
   * `inclusionSteps` with each hash as lowercase hex (what a JSON receipt carries), memoised for
   * the last size asked: the receipts of one signature share most of their paths (about 230
   * distinct siblings for 110 consecutive leaves of a 30,000-leaf tree, against 1,650 steps), so
   * each is looked up and hexed once. At most `HEX_MEMO_MAX` are kept; truncation drops them.
   */
  inclusionStepsHex(index: number, size: number = this.size): { hex: string; left: boolean }[] {
    if (this.hexMemo.size !== size || this.hexMemo.byRange.size >= HEX_MEMO_MAX) {
      this.hexMemo = { size, byRange: new Map() };
    }
    const byRange = this.hexMemo.byRange;
    return this.pathRanges(index, size, (lo, hi, left) => {
      // Unique per range of one tree size: its start, its level, and whether it is a complete subtree.
      const width = hi - lo;
      const level = floorLog2(width);
      const key = lo * 128 + level * 2 + (width === 2 ** level ? 0 : 1);
      let hex = byRange.get(key);
      if (hex === undefined) {
        const hash = this.rangeHash(lo, hi);
        hex = Buffer.from(hash.buffer, hash.byteOffset, hash.byteLength).toString("hex");
        byRange.set(key, hex);
      }
      return { hex, left };
    });
  }

  /** RFC 9162 §2.1.3.1's walk: `step` for each sibling range [lo, hi) of leaf `index`'s path, from the leaf up. */
  private pathRanges<T>(
    index: number,
    size: number,
    step: (lo: number, hi: number, left: boolean) => T,
  ): T[] {
    this.checkSize(size, "size");
    if (!Number.isSafeInteger(index) || index < 0 || index >= size) {
      throw new RangeError(`leaf index ${index} is not below size ${size}`);
    }
    if (index < this.startSize) throw new RangeError(PRE_FRONTIER_MESSAGE);
    const topDown: T[] = [];
    let lo = 0;
    let hi = size;
    while (hi - lo > 1) {
      const split = lo + largestPowerOfTwoBelow(hi - lo);
      if (index < split) {
        topDown.push(step(split, hi, false));
        hi = split;
      } else {
        topDown.push(step(lo, split, true));
        lo = split;
      }
    }
    return topDown.reverse();
  }

  /**
   * RFC 9162 §2.1.4.1 PROOF(oldSize, D[0:newSize]). Empty when oldSize is 0 or equals newSize (the
   * RFC defines proofs for 0 < oldSize < newSize; those two cases need no hashes).
   */
  consistencyProof(oldSize: number, newSize: number = this.size): Buffer[] {
    this.checkSize(newSize, "newSize");
    if (!Number.isSafeInteger(oldSize) || oldSize < 0 || oldSize > newSize) {
      throw new RangeError(`oldSize ${oldSize} must be within 0..${newSize}`);
    }
    if (oldSize === 0 || oldSize === newSize) return [];
    if (oldSize < this.startSize) throw new RangeError(PRE_FRONTIER_MESSAGE);
    // SUBPROOF(m, D[lo:hi], b), unrolled: walk down, collecting the sibling at each level.
    const siblingsTopDown: Buffer[] = [];
    let m = oldSize;
    let lo = 0;
    let hi = newSize;
    let wholeOldTree = true;
    while (m !== hi - lo) {
      const k = largestPowerOfTwoBelow(hi - lo);
      if (m <= k) {
        siblingsTopDown.push(Buffer.from(this.rangeHash(lo + k, hi)));
        hi = lo + k;
      } else {
        siblingsTopDown.push(Buffer.from(this.rangeHash(lo, lo + k)));
        lo += k;
        m -= k;
        wholeOldTree = false;
      }
    }
    const proof = siblingsTopDown.reverse();
    if (!wholeOldTree) proof.unshift(Buffer.from(this.rangeHash(lo, hi)));
    return proof;
  }

  /** Bytes held by the level buffers (for metrics and the memory test). */
  bytesAllocated(): number {
    let total = 0;
    for (const level of this.levels) total += level.bytesAllocated();
    return total;
  }

  /**
   * MTH(D[lo:hi]) for a range that the RFC's recursion can produce: `lo` is a multiple of the
   * largest power of two not above hi - lo, so the range is its largest stored complete subtree
   * followed by a shorter range of the same kind. A complete range is one stored hash; the others
   * are folded right to left (O(log n) hashes) and kept in `edges`.
   */
  private rangeHash(lo: number, hi: number): Uint8Array {
    assert(lo < hi && hi <= this.size, () => `range ${lo}..${hi} inside 0..${this.size}`);
    const level = floorLog2(hi - lo);
    const width = 2 ** level;
    assert(lo % width === 0, () => `subtree at ${lo} of width ${width} is aligned`);
    const first = this.levels[level]!.get(lo / width);
    if (width === hi - lo) return first;
    const known = this.edges.get(hi)?.get(lo);
    if (known !== undefined) return known;
    const folded = nodeHashSync(first, this.rangeHash(lo + width, hi));
    // The recursion above made this size's map unless lo + width .. hi was a stored subtree.
    let edge = this.edges.get(hi);
    if (edge === undefined) {
      // A few tree sizes at once: the signature being made and the receipts of the one before.
      if (this.edges.size >= EDGE_SIZES_KEPT) this.edges.delete(this.edges.keys().next().value!);
      edge = new Map();
      this.edges.set(hi, edge);
    }
    edge.set(lo, folded);
    return folded;
  }

  private checkSize(size: number, what: string): void {
    if (!Number.isSafeInteger(size) || size < 0 || size > this.size) {
      throw new RangeError(`${what} ${size} must be within 0..${this.size}`);
    }
  }
}

/**
 * Levels of a tree of `size` leaves holding only the frontier: level k starts at floor(size / 2^k),
 * less one where bit k of size is set — that one stored hash is the frontier's subtree of 2^k
 * leaves. Every later append completes subtrees whose left halves are these or newer hashes.
 */
function frontierLevels(size: number, frontier: readonly Uint8Array[]): HashArray[] {
  if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`frontier size ${size} is not valid`);
  const bits: number[] = [];
  for (let k = 0; 2 ** k <= size; k++) if (Math.floor(size / 2 ** k) % 2 === 1) bits.push(k);
  if (frontier.length !== bits.length)
    throw new RangeError(`a frontier of size ${size} has ${bits.length} hashes, got ${frontier.length}`);
  const levels: HashArray[] = [];
  for (let k = 0; k <= (bits.at(-1) ?? 0); k++) {
    const count = Math.floor(size / 2 ** k);
    const i = bits.indexOf(k);
    if (i < 0) {
      levels.push(new HashArray(count));
      continue;
    }
    const level = new HashArray(count - 1);
    // The frontier lists subtrees largest first; bits are ascending.
    level.push(frontier[frontier.length - 1 - i] as Uint8Array);
    levels.push(level);
  }
  return levels;
}

/** floor(log2(n)) for a safe integer n ≥ 1, exactly (no floating-point logarithm). */
function floorLog2(n: number): number {
  if (n < 2 ** 32) return 31 - Math.clz32(n);
  let k = 32;
  while (2 ** (k + 1) <= n) k++;
  return k;
}

/** The largest power of two strictly smaller than n (n ≥ 2), the RFC's split point k. */
function largestPowerOfTwoBelow(n: number): number {
  assert(n >= 2, "a split needs at least two leaves");
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}
