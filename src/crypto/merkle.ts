/**
 * RFC 9162 (Certificate Transparency v2) Merkle tree hashing and proof verification, browser-safe:
 * SHA-256 through WebCrypto (`globalThis.crypto.subtle`), no `node:` import. The node builds its
 * tree with `src/ledger/merkle-tree.ts` (sync, node:crypto); the CLI and the browser SDK verify what
 * it produced with this file, so the two must agree byte for byte (a property test checks it).
 *
 * Hashing (RFC 9162 §2.1.1): leaf = SHA-256(0x00 ‖ d), node = SHA-256(0x01 ‖ left ‖ right), and the
 * root of the empty tree is SHA-256("").
 *
 * Sizes and indices are JavaScript numbers checked to be safe integers; all bit manipulation is
 * done with arithmetic (never 32-bit `>>`), so trees larger than 2^32 leaves verify correctly.
 */

/** Length of a SHA-256 hash, the only hash RFC 9162 trees here use. */
export const HASH_BYTES = 32;

/** Most sibling hashes any proof can hold: a tree of at most 2^53 leaves has at most 53 levels. */
export const PROOF_HASHES_MAX = 64;

/** Which side the sibling sits on at one step of an inclusion path, leaf upward. */
export type ProofSide = "left" | "right";

export async function sha256(data: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await globalThis.crypto.subtle.digest("SHA-256", data as Uint8Array<ArrayBuffer>));
}

/** RFC 9162 §2.1.1: the hash of a leaf is SHA-256(0x00 ‖ data). */
export async function leafHash(data: Uint8Array): Promise<Uint8Array> {
  const input = new Uint8Array(1 + data.length);
  input[0] = 0x00;
  input.set(data, 1);
  return sha256(input);
}

/** RFC 9162 §2.1.1: the hash of an interior node is SHA-256(0x01 ‖ left ‖ right). */
export async function nodeHash(left: Uint8Array, right: Uint8Array): Promise<Uint8Array> {
  checkHash(left, "left");
  checkHash(right, "right");
  const input = new Uint8Array(1 + 2 * HASH_BYTES);
  input[0] = 0x01;
  input.set(left, 1);
  input.set(right, 1 + HASH_BYTES);
  return sha256(input);
}

/** RFC 9162 §2.1.1: the root of the empty tree, SHA-256 of the empty string. */
export async function emptyTreeRoot(): Promise<Uint8Array> {
  return sha256(new Uint8Array(0));
}

/**
 * RFC 9162 §2.1.1 MTH over leaf hashes that are already computed. Linear in the number of leaves;
 * meant for small trees (tests, a verifier recomputing one batch), not for the node's ledger.
 */
export async function rootFromLeafHashes(leafHashes: readonly Uint8Array[]): Promise<Uint8Array> {
  if (leafHashes.length === 0) return emptyTreeRoot();
  let level = leafHashes.map((h, i) => checkHash(h, `leaf ${i}`));
  // Pairing adjacent nodes and carrying an odd last node up unchanged yields exactly the RFC's
  // "largest power of two smaller than n" split.
  while (level.length > 1) {
    const next: Uint8Array[] = [];
    for (let i = 0; i + 1 < level.length; i += 2) next.push(await nodeHash(level[i]!, level[i + 1]!));
    if (level.length % 2 === 1) next.push(level[level.length - 1]!);
    level = next;
  }
  return level[0]!;
}

/**
 * The side of each sibling in the inclusion path of `leafIndex` in a tree of `treeSize` leaves,
 * leaf upward — the path shape that the RFC 9162 §2.1.3.2 verification algorithm walks. The length
 * of the result is the only valid length of such a path. Throws RangeError when leafIndex is not
 * below treeSize.
 */
export function inclusionProofSides(leafIndex: number, treeSize: number): ProofSide[] {
  checkCount(treeSize, "treeSize");
  checkCount(leafIndex, "leafIndex");
  if (leafIndex >= treeSize) throw new RangeError(`leafIndex ${leafIndex} is not below treeSize ${treeSize}`);
  const sides: ProofSide[] = [];
  let fn = leafIndex;
  let sn = treeSize - 1;
  while (sn > 0) {
    if (fn % 2 === 1 || fn === sn) {
      sides.push("left");
      // A last node without a right sibling is carried up unchanged until it is a right child.
      while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else {
      sides.push("right");
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sides;
}

/**
 * RFC 9162 §2.1.3.2: the root that an inclusion path implies for a leaf hash, or `null` when the
 * path has the wrong length for (leafIndex, treeSize) or a malformed hash.
 */
export async function rootFromInclusionProof(
  leafHashValue: Uint8Array,
  leafIndex: number,
  treeSize: number,
  path: readonly Uint8Array[],
): Promise<Uint8Array | null> {
  if (path.length > PROOF_HASHES_MAX || leafHashValue.length !== HASH_BYTES) return null;
  if (!isCount(leafIndex) || !isCount(treeSize) || leafIndex >= treeSize) return null;
  const sides = inclusionProofSides(leafIndex, treeSize);
  if (sides.length !== path.length) return null;
  let r = leafHashValue;
  for (let i = 0; i < path.length; i++) {
    const p = path[i]!;
    if (p.length !== HASH_BYTES) return null;
    r = sides[i] === "left" ? await nodeHash(p, r) : await nodeHash(r, p);
  }
  return r;
}

/** RFC 9162 §2.1.3.2: whether `path` proves the leaf at `leafIndex` is in the tree with `root`. */
export async function verifyInclusionProof(
  leafHashValue: Uint8Array,
  leafIndex: number,
  treeSize: number,
  path: readonly Uint8Array[],
  root: Uint8Array,
): Promise<boolean> {
  const computed = await rootFromInclusionProof(leafHashValue, leafIndex, treeSize, path);
  return computed !== null && bytesEqual(computed, root);
}

/**
 * RFC 9162 §2.1.4.2: whether `proof` shows that the tree of `firstSize` leaves with `firstRoot` is
 * a prefix of the tree of `secondSize` leaves with `secondRoot`. Beyond the RFC (which defines
 * proofs for 0 < first < second only): equal sizes take an empty proof and equal roots, and the
 * empty tree is a prefix of every tree with an empty proof (its root must be SHA-256("")).
 */
export async function verifyConsistencyProof(
  firstSize: number,
  secondSize: number,
  firstRoot: Uint8Array,
  secondRoot: Uint8Array,
  proof: readonly Uint8Array[],
): Promise<boolean> {
  if (!isCount(firstSize) || !isCount(secondSize) || firstSize > secondSize) return false;
  if (firstRoot.length !== HASH_BYTES || secondRoot.length !== HASH_BYTES) return false;
  if (proof.length > PROOF_HASHES_MAX || proof.some((h) => h.length !== HASH_BYTES)) return false;
  if (firstSize === 0) return proof.length === 0 && bytesEqual(firstRoot, await emptyTreeRoot());
  if (firstSize === secondSize) return proof.length === 0 && bytesEqual(firstRoot, secondRoot);
  return consistencyWalk(firstSize, secondSize, firstRoot, secondRoot, proof);
}

/** Steps 1–7 of RFC 9162 §2.1.4.2 for 0 < firstSize < secondSize. */
async function consistencyWalk(
  firstSize: number,
  secondSize: number,
  firstRoot: Uint8Array,
  secondRoot: Uint8Array,
  proof: readonly Uint8Array[],
): Promise<boolean> {
  if (proof.length === 0) return false;
  const path = isPowerOfTwo(firstSize) ? [firstRoot, ...proof] : [...proof];
  let fn = firstSize - 1;
  let sn = secondSize - 1;
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  let fr = path[0]!;
  let sr = path[0]!;
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = await nodeHash(c, fr);
      sr = await nodeHash(c, sr);
      while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else {
      sr = await nodeHash(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && bytesEqual(fr, firstRoot) && bytesEqual(sr, secondRoot);
}

/** Constant-time-in-content comparison of two byte strings (length is not secret). */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/** Lowercase hex of `bytes`. */
export function toHex(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s;
}

/** Bytes of a hex string; throws TypeError unless it is an even number of hex digits. */
export function fromHex(hex: string): Uint8Array {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) throw new TypeError("not a hex string");
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function isCount(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0;
}

function isPowerOfTwo(n: number): boolean {
  let x = n;
  while (x > 1 && x % 2 === 0) x /= 2;
  return x === 1;
}

function checkCount(n: number, what: string): void {
  if (!isCount(n)) throw new RangeError(`${what} must be a non-negative safe integer, got ${n}`);
}

function checkHash(h: Uint8Array, what: string): Uint8Array {
  if (!(h instanceof Uint8Array)) throw new TypeError(`${what} hash must be a Uint8Array`);
  if (h.length !== HASH_BYTES)
    throw new RangeError(`${what} hash must be ${HASH_BYTES} bytes, got ${h.length}`);
  return h;
}
