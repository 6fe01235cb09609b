/**
 * Finding and loading snapshot files. `GET /node/snapshot/latest` (for joiners, served by the
 * network layer) should send `latestCommittedSnapshot(dir)`'s bytes and evidence seqno; a joiner
 * checks the file's SHA-256 against the claims digest of that transaction's receipt.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Store, type StoreOptions } from "../kv/index.ts";
import type { LedgerSecret } from "../ledger/entry.ts";
import { decodeSnapshot, type SnapshotContents, snapshotDigest, snapshotHeader } from "../ledger/snapshot.ts";
import { snapshotEvidence } from "../tables/secrets.ts";
import { CoterieError } from "../util/errors.ts";

export type SnapshotFile = { path: string; seqno: number; evidenceSeqno: number };

const COMMITTED = /^snapshot_(\d+)_(\d+)\.committed$/;

/** Committed snapshots in `dir`, newest first. */
export function committedSnapshots(dir: string): SnapshotFile[] {
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .map((name) => ({ name, m: COMMITTED.exec(name) }))
    .filter((x): x is { name: string; m: RegExpExecArray } => x.m !== null)
    .map(({ name, m }) => ({ path: join(dir, name), seqno: Number(m[1]), evidenceSeqno: Number(m[2]) }))
    .sort((a, b) => b.seqno - a.seqno);
}

export function latestCommittedSnapshot(dir: string): SnapshotFile | null {
  return committedSnapshots(dir)[0] ?? null;
}

/**
 * A store at the snapshot's seqno (each key with its version) and the snapshot's other contents.
 * `publicOnly`: without the private maps (a recovering node, before the shares bring the secret).
 */
export function storeFromSnapshot(
  bytes: Buffer,
  secrets: readonly LedgerSecret[],
  options?: StoreOptions,
  publicOnly = false,
): { store: Store; contents: SnapshotContents } {
  const { secretVersion } = snapshotHeader(bytes);
  const secret = secrets.find((s) => s.version === secretVersion) ?? null;
  const contents = decodeSnapshot(bytes, publicOnly ? "public-only" : secret);
  return { store: Store.fromSnapshot(contents.seqno, contents.maps, options), contents };
}

export function readSnapshot(file: SnapshotFile): Buffer {
  const bytes = readFileSync(file.path);
  if (snapshotHeader(bytes).seqno !== file.seqno)
    throw new CoterieError("COTERIE_ERR_SNAPSHOT_MALFORMED", `${file.path}: seqno does not match its name`);
  return bytes;
}

/**
 * The snapshot to replay from, or null: the latest committed one in `dir`, except that a ledger
 * whose first entry is `ledgerFirstSeqno` > 1 (a node that joined from a snapshot) needs exactly
 * the snapshot it starts after — its Merkle tree continues from that one's frontier.
 */
export function snapshotToReplay(
  dir: string,
  storeOptions: StoreOptions,
  ledgerFirstSeqno = 1,
): { bytes: Buffer; seqno: number; storeOptions: StoreOptions } | null {
  const file =
    ledgerFirstSeqno > 1
      ? (committedSnapshots(dir).find((f) => f.seqno === ledgerFirstSeqno - 1) ?? null)
      : latestCommittedSnapshot(dir);
  return file === null ? null : { bytes: readSnapshot(file), seqno: file.seqno, storeOptions };
}

/**
 * After replay: the file must be the one whose digest the (signed) ledger recorded. A ledger that
 * starts after the snapshot may not hold the evidence yet (`allowMissing`): that file was checked
 * against the evidence transaction's receipt when it was fetched (snapshot-fetch.ts).
 */
export function checkSnapshotEvidence(
  store: Store,
  snapshot: { bytes: Buffer; seqno: number },
  options: { allowMissing?: boolean } = {},
): void {
  const tx = store.beginTx();
  const recorded = snapshotEvidence.in(tx).get(String(snapshot.seqno));
  if (recorded === undefined && options.allowMissing === true) return;
  if (recorded?.digest !== snapshotDigest(snapshot.bytes))
    throw new CoterieError(
      "COTERIE_ERR_SNAPSHOT_MALFORMED",
      `snapshot ${snapshot.seqno} does not match the digest recorded in the ledger`,
    );
}
