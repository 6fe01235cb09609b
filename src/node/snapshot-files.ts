/**
 * Finding and loading snapshot files. `GET /node/snapshot/latest` (snapshot-route.ts, for joiners)
 * announces `latestCommittedSnapshot(dir)` and `GET /node/snapshot/<seqno>_<evidence seqno>`
 * streams a file found by `committedSnapshotNamed`; a joiner checks the file's SHA-256 against the
 * claims digest of the evidence transaction's receipt (snapshot-fetch.ts).
 */
import { readdirSync, readFileSync } from "node:fs";
import { open } from "node:fs/promises";
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

/** `<seqno>_<evidence seqno>`, decimal without leading zeros: how the file route names a snapshot. */
const SNAPSHOT_NAME = /^(0|[1-9]\d{0,14})_(0|[1-9]\d{0,14})$/;

export function snapshotName(file: Pick<SnapshotFile, "seqno" | "evidenceSeqno">): string {
  return `${file.seqno}_${file.evidenceSeqno}`;
}

/**
 * The committed snapshot in `dir` that `name` (`<seqno>_<evidence seqno>`, from a request) names,
 * or null. The name is only parsed into two integers and compared with the files listed in `dir`:
 * it never becomes part of a path.
 */
export function committedSnapshotNamed(dir: string, name: string): SnapshotFile | null {
  const m = SNAPSHOT_NAME.exec(name);
  if (m === null) return null;
  const seqno = Number(m[1]);
  const evidenceSeqno = Number(m[2]);
  return committedSnapshots(dir).find((f) => f.seqno === seqno && f.evidenceSeqno === evidenceSeqno) ?? null;
}

/** fsyncs a directory, so that a rename into it (a file becoming `.committed`) survives power loss. */
export async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
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
