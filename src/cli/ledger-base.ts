/**
 * Where a ledger on disk starts: a node data directory (with `ledger/` and `snapshots/`) or a bare
 * ledger directory. A ledger whose first chunk starts after seqno 1 belongs to a node that joined
 * from a snapshot; it can only be verified (or recovered) together with that snapshot — the one
 * given with `--snapshot`, or the committed one at first - 1 in the data directory's `snapshots/`.
 */
import { existsSync, readFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { firstSeqnoInDir } from "../ledger/files.ts";
import { snapshotHeader } from "../ledger/snapshot.ts";
import { committedSnapshots } from "../node/snapshot-files.ts";
import { CoterieError } from "../util/errors.ts";

export type LedgerOnDisk = {
  ledgerDir: string;
  /** The snapshot the ledger starts after (null: it starts at seqno 1). */
  snapshot: { path: string; bytes: Buffer; seqno: number } | null;
};

/** `dir` is a data directory or a ledger directory; `snapshotFiles` are extra candidates (`--snapshot`). */
export function ledgerOnDisk(dir: string, snapshotFiles: readonly string[] = []): LedgerOnDisk {
  const ledgerDir = existsSync(join(dir, "ledger")) ? join(dir, "ledger") : dir;
  const first = firstSeqnoInDir(ledgerDir);
  if (first === 1) return { ledgerDir, snapshot: null };
  const want = first - 1;
  for (const path of snapshotFiles) {
    const bytes = readFileSync(path);
    if (snapshotHeader(bytes).seqno === want) return { ledgerDir, snapshot: { path, bytes, seqno: want } };
  }
  const dataDir = basename(ledgerDir) === "ledger" ? dirname(ledgerDir) : dir;
  const file = committedSnapshots(join(dataDir, "snapshots")).find((f) => f.seqno === want);
  if (file === undefined)
    throw new CoterieError(
      "COTERIE_ERR_SNAPSHOT_MISSING",
      `${ledgerDir} starts at seqno ${first}: it needs the snapshot at seqno ${want} ` +
        `(pass it with --snapshot FILE, or keep it in ${join(dataDir, "snapshots")})`,
    );
  return { ledgerDir, snapshot: { path: file.path, bytes: readFileSync(file.path), seqno: want } };
}
