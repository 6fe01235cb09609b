/**
 * Snapshot files: the whole key-value state at a signature seqno, with each key's version, the
 * RFC 9162 frontier of the Merkle tree at that size, and the view history, so a node can start
 * from it and replay only the ledger suffix. docs/ledger-format.md ("Snapshots") is normative.
 *
 *   header (48) ‖ frontier (F × 32) ‖ view starts (V × 16) ‖ public section (P) ‖ private section (Q)
 *
 * Private maps are AES-256-GCM encrypted under a key derived from the ledger secret in effect at
 * the seqno (HKDF-SHA256, info "coterie snapshot"), random 12-byte nonce, additional data = every
 * byte before the private section. The file's SHA-256 is recorded in the ledger
 * (`public:coterie.internal.snapshot_evidence`), which is what makes a snapshot verifiable alone.
 */
import { createHash, hkdfSync, randomBytes } from "node:crypto";
import { aesGcmDecrypt, aesGcmEncrypt, GCM_NONCE_BYTES, GCM_TAG_BYTES } from "../crypto/aead.ts";
import { isPublicMapName, type Snapshot, type SnapshotMap, type VersionedEntry } from "../kv/index.ts";
import { assert } from "../util/assert.ts";
import { CoterieError } from "../util/errors.ts";
import type { LedgerSecret } from "./entry.ts";
import { decodeSnapshotMaps, encodeSnapshotMaps } from "./snapshot-maps.ts";

export const SNAPSHOT_MAGIC = Buffer.from("COTSNAP\0", "latin1");
export const SNAPSHOT_FORMAT_VERSION = 1;
export const SNAPSHOT_HEADER_BYTES = 48;
/** A frontier has one hash per set bit of the tree size. */
export const FRONTIER_HASHES_MAX = 64;

export type SnapshotContents = {
  seqno: number;
  /** Roots of the perfect subtrees covering leaves [0, seqno), left to right (largest first). */
  frontier: Uint8Array[];
  /** [view, first seqno of that view], ascending. */
  viewStarts: Array<[number, number]>;
  maps: SnapshotMap[];
};

/** The private section's key (HKDF-SHA256 of the ledger secret, info "coterie snapshot"). */
export function snapshotKey(secret: LedgerSecret): Buffer {
  return Buffer.from(hkdfSync("sha256", secret.key, new Uint8Array(0), "coterie snapshot", 32));
}

export function malformedSnapshot(why: string): CoterieError {
  return new CoterieError("COTERIE_ERR_SNAPSHOT_MALFORMED", `snapshot: ${why}`);
}

/** The maps of a state, each with its entries in key order, as a snapshot holds them. */
export type SnapshotMaps = Array<{ name: string; entries: VersionedEntry[] }>;

/**
 * Serialises the state `kv` (at `seqno`) with the tree frontier and view history, in one turn (see
 * `encodeSnapshotOf`; `nonce` for tests).
 */
export function encodeSnapshot(
  kv: Snapshot,
  frontier: Uint8Array[],
  viewStarts: Array<[number, number]>,
  secret: LedgerSecret,
  nonce?: Uint8Array,
): Buffer {
  const maps = kv.mapNames().map((name) => ({ name, entries: [...kv.versionedEntries(name)] }));
  return encodeSnapshotOf(kv.version, maps, frontier, viewStarts, secret, nonce);
}

/**
 * Collects the maps of `kv` like `encodeSnapshot`, yielding to the event loop every `entriesPerTurn`
 * entries (`kv` is immutable, so writes committed meanwhile change nothing). What the snapshot
 * service did before it streamed (snapshot-stream.ts): the encoding after it still took one turn,
 * 1.6 s at a million records. Kept for bench/snapshot-stall.ts, which compares the two.
 */
export async function collectSnapshotMaps(kv: Snapshot, entriesPerTurn = 20_000): Promise<SnapshotMaps> {
  const maps: SnapshotMaps = [];
  let sinceYield = 0;
  for (const name of kv.mapNames()) {
    const entries: VersionedEntry[] = [];
    for (const e of kv.versionedEntries(name)) {
      entries.push(e);
      if (++sinceYield >= entriesPerTurn) {
        sinceYield = 0;
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
    maps.push({ name, entries });
  }
  return maps;
}

/**
 * header ‖ frontier ‖ view starts: everything before the map sections, given their lengths
 * (`privateBytes` 0 when there are no private maps; the secret version is then written as 0).
 */
export function encodeSnapshotPrefix(
  seqno: number,
  secretVersion: number,
  frontier: Uint8Array[],
  viewStarts: Array<[number, number]>,
  publicBytes: number,
  privateBytes: number,
): Buffer {
  assert(frontier.length <= FRONTIER_HASHES_MAX, "frontier fits");
  const header = Buffer.alloc(SNAPSHOT_HEADER_BYTES);
  SNAPSHOT_MAGIC.copy(header, 0);
  header.writeUInt32LE(SNAPSHOT_FORMAT_VERSION, 8);
  header.writeBigUInt64LE(BigInt(seqno), 16);
  header.writeBigUInt64LE(BigInt(privateBytes === 0 ? 0 : secretVersion), 24);
  header.writeUInt32LE(frontier.length, 32);
  header.writeUInt32LE(viewStarts.length, 36);
  header.writeUInt32LE(publicBytes, 40);
  header.writeUInt32LE(privateBytes, 44);
  const views = Buffer.alloc(16 * viewStarts.length);
  viewStarts.forEach(([view, first], i) => {
    views.writeBigUInt64LE(BigInt(view), 16 * i);
    views.writeBigUInt64LE(BigInt(first), 16 * i + 8);
  });
  return Buffer.concat([header, ...frontier, views]);
}

/**
 * Serialises `maps` (a state at `seqno`, from `collectSnapshotMaps`) with the frontier and views,
 * in one turn and in memory: the reference for tests and tools. The node streams instead
 * (`writeSnapshotStream`, snapshot-stream.ts), which produces the same bytes.
 * `nonce`: for tests that compare the two (random otherwise).
 */
export function encodeSnapshotOf(
  seqno: number,
  maps: SnapshotMaps,
  frontier: Uint8Array[],
  viewStarts: Array<[number, number]>,
  secret: LedgerSecret,
  nonce: Uint8Array = randomBytes(GCM_NONCE_BYTES),
): Buffer {
  const pub = encodeSnapshotMaps(maps.filter((m) => isPublicMapName(m.name)));
  const privateMaps = maps.filter((m) => !isPublicMapName(m.name));
  const priv = privateMaps.length === 0 ? null : encodeSnapshotMaps(privateMaps);
  const privateBytes = priv === null ? 0 : GCM_NONCE_BYTES + priv.length + GCM_TAG_BYTES;
  const prefix = encodeSnapshotPrefix(seqno, secret.version, frontier, viewStarts, pub.length, privateBytes);
  const head = Buffer.concat([prefix, pub]);
  if (priv === null) return head;
  return Buffer.concat([head, nonce, aesGcmEncrypt(snapshotKey(secret), nonce, priv, head)]);
}

export function snapshotDigest(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Seqno and secret version from the header, without decrypting (to pick the secret). */
export function snapshotHeader(bytes: Buffer): { seqno: number; secretVersion: number } {
  if (bytes.length < SNAPSHOT_HEADER_BYTES || !bytes.subarray(0, 8).equals(SNAPSHOT_MAGIC))
    throw malformedSnapshot("not a snapshot file");
  if (bytes.readUInt32LE(8) !== SNAPSHOT_FORMAT_VERSION || bytes.readUInt32LE(12) !== 0)
    throw malformedSnapshot("unknown format version");
  return { seqno: Number(bytes.readBigUInt64LE(16)), secretVersion: Number(bytes.readBigUInt64LE(24)) };
}

/**
 * Seqno, tree frontier and view history, without decrypting: what a ledger that starts after the
 * snapshot needs before replay (the frontier continues the Merkle tree, the views give term(seqno)).
 */
export function snapshotHead(bytes: Buffer): Pick<SnapshotContents, "seqno" | "frontier" | "viewStarts"> {
  const { seqno } = snapshotHeader(bytes);
  const f = bytes.readUInt32LE(32);
  const v = bytes.readUInt32LE(36);
  if (f > FRONTIER_HASHES_MAX || SNAPSHOT_HEADER_BYTES + 32 * f + 16 * v > bytes.length)
    throw malformedSnapshot("frontier or view history beyond the file");
  const frontier = Array.from({ length: f }, (_, i) =>
    bytes.subarray(SNAPSHOT_HEADER_BYTES + 32 * i, SNAPSHOT_HEADER_BYTES + 32 * (i + 1)),
  );
  const viewStarts: Array<[number, number]> = Array.from({ length: v }, (_, i) => {
    const at = SNAPSHOT_HEADER_BYTES + 32 * f + 16 * i;
    return [Number(bytes.readBigUInt64LE(at)), Number(bytes.readBigUInt64LE(at + 8))];
  });
  return { seqno, frontier, viewStarts };
}

/**
 * Parses and decrypts a snapshot; `secret` must be the one its header names when it has private
 * maps. With `"public-only"` the private section is left unread (its length is still checked): what
 * a recovering node can load before the members' shares bring the secret back.
 */
export function decodeSnapshot(bytes: Buffer, secret: LedgerSecret | null | "public-only"): SnapshotContents {
  const { seqno, secretVersion } = snapshotHeader(bytes);
  const p = bytes.readUInt32LE(40);
  const q = bytes.readUInt32LE(44);
  if (bytes.readUInt32LE(32) > FRONTIER_HASHES_MAX) throw malformedSnapshot("frontier too long");
  const { frontier, viewStarts } = snapshotHead(bytes);
  const p0 = SNAPSHOT_HEADER_BYTES + 32 * frontier.length + 16 * viewStarts.length;
  if (p0 + p + q !== bytes.length)
    throw malformedSnapshot("section lengths do not add up to the file length");
  const maps = decodeSnapshotMaps(bytes.subarray(p0, p0 + p));
  if (q > 0 && secret !== "public-only") {
    if (secret === null || secret.version !== secretVersion)
      throw malformedSnapshot(`needs ledger secret version ${secretVersion}`);
    const nonce = bytes.subarray(p0 + p, p0 + p + GCM_NONCE_BYTES);
    const plain = aesGcmDecrypt(
      snapshotKey(secret),
      nonce,
      bytes.subarray(p0 + p + GCM_NONCE_BYTES),
      bytes.subarray(0, p0 + p),
    );
    if (plain === null) throw malformedSnapshot("private section does not decrypt");
    maps.push(...decodeSnapshotMaps(plain));
  }
  return { seqno, frontier, viewStarts, maps };
}
