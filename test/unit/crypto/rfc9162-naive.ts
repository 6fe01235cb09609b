// A deliberately naive RFC 9162 Merkle tree, written straight from the recursive definitions of
// §2.1.1 (MTH), §2.1.3.1 (PATH) and §2.1.4.1 (PROOF/SUBPROOF), for property tests to compare the
// fast implementations with. Recursion and slicing are fine here: clarity is the point.
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";

export function sha256(...parts: Uint8Array[]): Buffer {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return h.digest();
}

export function naiveLeafHash(data: Uint8Array): Buffer {
  return sha256(Buffer.from([0x00]), data);
}

function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  return sha256(Buffer.from([0x01]), left, right);
}

/** k: the largest power of two smaller than n (n > 1). */
function split(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** MTH(D[n]) over leaf hashes (the leaf hash of a one-leaf tree is the leaf hash itself). */
export function naiveRoot(leafHashes: readonly Buffer[]): Buffer {
  const n = leafHashes.length;
  if (n === 0) return sha256();
  if (n === 1) return leafHashes[0]!;
  const k = split(n);
  return nodeHash(naiveRoot(leafHashes.slice(0, k)), naiveRoot(leafHashes.slice(k)));
}

/** PATH(m, D[n]), leaf upward. */
export function naivePath(m: number, leafHashes: readonly Buffer[]): Buffer[] {
  const n = leafHashes.length;
  if (n <= 1) return [];
  const k = split(n);
  if (m < k) return [...naivePath(m, leafHashes.slice(0, k)), naiveRoot(leafHashes.slice(k))];
  return [...naivePath(m - k, leafHashes.slice(k)), naiveRoot(leafHashes.slice(0, k))];
}

function subproof(m: number, leafHashes: readonly Buffer[], b: boolean): Buffer[] {
  const n = leafHashes.length;
  if (m === n) return b ? [] : [naiveRoot(leafHashes)];
  const k = split(n);
  if (m <= k) return [...subproof(m, leafHashes.slice(0, k), b), naiveRoot(leafHashes.slice(k))];
  return [...subproof(m - k, leafHashes.slice(k), false), naiveRoot(leafHashes.slice(0, k))];
}

/** PROOF(m, D[n]) for 0 < m < n. */
export function naiveConsistency(m: number, leafHashes: readonly Buffer[]): Buffer[] {
  return subproof(m, leafHashes, true);
}

/** Deterministic pseudo-random generator (mulberry32) so a failing seed reproduces. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Synthetic leaf hashes: leaf i hashes the 4-byte big-endian encoding of i plus a seed byte. */
export function syntheticLeafHashes(count: number, seed = 0): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const d = Buffer.alloc(5);
    d.writeUInt32BE(i, 0);
    d[4] = seed & 0xff;
    out.push(naiveLeafHash(d));
  }
  return out;
}

/** The shape of ../shared/vectors/rfc9162.json. */
export type Rfc9162Vectors = {
  leaves_hex: string[];
  roots_by_size: Record<string, string>;
  inclusion_paths_size_8: Record<string, string[]>;
};

/**
 * Reads ../shared/vectors/rfc9162.json, or returns the reason it cannot (a user's own clone has no
 * ../shared; the synthetic tests cover the same code paths).
 */
export function loadRfc9162Vectors(): { vectors: Rfc9162Vectors } | { skip: string } {
  const path = resolve(import.meta.dirname, "../../../../shared/vectors/rfc9162.json");
  if (!existsSync(path)) return { skip: `RFC 9162 vectors absent (${path}); synthetic tests still run` };
  return { vectors: JSON.parse(readFileSync(path, "utf8")) as Rfc9162Vectors };
}
