/**
 * Snapshot scheduling on the primary (docs/operations.md, "Snapshots"): every
 * `snapshots.intervalTxs` committed transactions, and when governance asks (`trigger_snapshot`
 * writes the `snapshot` key of `public:coterie.gov.service.triggers`), the state at the commit seqno
 * (always a signature) is written to `snapshots/snapshot_<seqno>`; one transaction records its
 * SHA-256 in `public:coterie.internal.snapshot_evidence` and as its claims digest (so that
 * transaction's receipt alone proves the file); once that transaction commits the file is renamed
 * `snapshot_<seqno>_<evidence seqno>.committed` and the directory fsynced. Older committed
 * snapshots beyond `SNAPSHOTS_RETAINED_MAX` are deleted.
 */
import { mkdirSync, readdirSync, renameSync, rmSync, unlinkSync } from "node:fs";
import { open } from "node:fs/promises";
import { join } from "node:path";
import type { Snapshot } from "../kv/index.ts";
import type { LedgerSecret } from "../ledger/entry.ts";
import { treeFrontier } from "../ledger/snapshot-frontier.ts";
import {
  type SnapshotStreamOptions,
  type SnapshotStreamResult,
  writeSnapshotStream,
} from "../ledger/snapshot-stream.ts";
import { serviceTriggers } from "../tables/governance.ts";
import { snapshotEvidence } from "../tables/secrets.ts";
import type { Engine } from "./engine.ts";
import { currentLedgerSecret } from "./identity.ts";
import type { Logger } from "./logger.ts";
import { committedSnapshots, syncDirectory } from "./snapshot-files.ts";

export const SNAPSHOT_POLL_MS = 50;
export const SNAPSHOTS_RETAINED_MAX = 3;
const EVIDENCE_COMMIT_WAIT_MS = 30_000;

/**
 * Streams the snapshot of `kv` into `path` chunk by chunk across event-loop turns, then fsyncs it.
 * A crash or an error part way leaves at most an incomplete `snapshot_<seqno>`, which nothing
 * loads (only `.committed` names are, and a file is renamed so only after its evidence commits);
 * on an error the file is removed here.
 */
export async function writeSnapshotFile(
  path: string,
  kv: Snapshot,
  frontier: Uint8Array[],
  viewStarts: Array<[number, number]>,
  secret: LedgerSecret,
  options?: SnapshotStreamOptions,
): Promise<SnapshotStreamResult> {
  const file = await open(path, "w", 0o600);
  let complete = false;
  try {
    const sink = async (chunk: Buffer) => {
      for (let at = 0; at < chunk.length; ) at += (await file.write(chunk, at)).bytesWritten;
    };
    const written = await writeSnapshotStream(kv, frontier, viewStarts, secret, sink, options);
    await file.sync();
    complete = true;
    return written;
  } finally {
    await file.close();
    if (!complete) rmSync(path, { force: true });
  }
}

export class SnapshotService {
  private readonly engine: Engine;
  private readonly dir: string;
  private readonly intervalTxs: number;
  private readonly log: Logger;
  private readonly enabled: () => boolean;
  private timer: NodeJS.Timeout | null = null;
  private busy = false;
  private lastSeqno: number;

  /** `intervalTxs` 0: only when governance asks. */
  constructor(
    engine: Engine,
    dir: string,
    intervalTxs: number,
    log: Logger,
    enabled: () => boolean = () => true,
  ) {
    this.engine = engine;
    this.dir = dir;
    this.intervalTxs = intervalTxs;
    this.log = log;
    this.enabled = enabled;
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.lastSeqno = committedSnapshots(dir)[0]?.seqno ?? 0;
    // What a crash left: a file being written (`snapshot_<seqno>`) or fetched (`….fetching`). Never
    // loaded, but each may be as large as the state; nothing writes either before this service runs.
    for (const name of readdirSync(dir)) {
      if (/^snapshot_\d+$/.test(name) || name.endsWith(".fetching")) {
        rmSync(join(dir, name), { force: true });
        log.info("removed an unfinished snapshot file", { name });
      }
    }
  }

  start(): void {
    this.timer = setInterval(() => void this.tick(), SNAPSHOT_POLL_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** One check; returns the committed snapshot's path when one was taken. Exposed for tests. */
  async tick(): Promise<string | null> {
    if (this.busy || !this.enabled()) return null;
    const committed = this.engine.committedSeqno;
    const asked = serviceTriggers.in(this.engine.store.beginTx()).has("snapshot");
    const due = this.intervalTxs > 0 && committed - this.lastSeqno >= this.intervalTxs;
    if (!(asked || due) || committed === 0) return null;
    this.busy = true;
    try {
      return await this.take(committed);
    } catch (error) {
      this.log.error("snapshot failed", { error: String(error) });
      return null;
    } finally {
      this.busy = false;
    }
  }

  private async take(seqno: number): Promise<string | null> {
    const e = this.engine;
    const viewStarts = e.views.starts().filter(([, first]) => first <= seqno) as Array<[number, number]>;
    // Streamed to the file across event-loop turns from the immutable store snapshot (in one turn,
    // a large state stalled the primary past an election timeout). Everything read from the node
    // is taken before the first yield (a rekey may land meanwhile).
    const frontier = treeFrontier(e.ledger.tree, seqno);
    const secret = currentLedgerSecret(e.identity);
    const pending = join(this.dir, `snapshot_${seqno}`);
    const { digest, bytes } = await writeSnapshotFile(
      pending,
      e.store.snapshotAt(seqno),
      frontier,
      viewStarts,
      secret,
    );
    if (!this.enabled()) {
      // No longer primary after the turns the file took: only the primary appends the evidence.
      rmSync(pending, { force: true });
      return null;
    }
    let evidence: number;
    try {
      evidence = e.appendInternal(
        (tx) => {
          snapshotEvidence.in(tx).put(String(seqno), { seqno, digest, bytes });
          serviceTriggers.in(tx).delete("snapshot");
        },
        Buffer.from(digest, "hex"),
      );
    } catch (error) {
      // No evidence, so no use for the file.
      rmSync(pending, { force: true });
      throw error;
    }
    this.lastSeqno = seqno;
    const status = await e.waitForCommit({ view: e.view, seqno: evidence }, EVIDENCE_COMMIT_WAIT_MS);
    if (status !== "Committed") {
      unlinkSync(pending);
      return null;
    }
    // Committed means on a quorum, not yet on this primary's own disk (it commits on its
    // followers' acknowledgements before its own flush returns): a restart must find the
    // evidence in its ledger before it finds the file committed.
    await e.ledger.flush();
    const path = join(this.dir, `snapshot_${seqno}_${evidence}.committed`);
    renameSync(pending, path);
    // The rename is durable only once the directory is: without this a power loss could lose a
    // snapshot whose evidence is committed (and that a joiner may already have been sent).
    await syncDirectory(this.dir);
    // Never the snapshot this node's ledger starts after: a restart needs its frontier.
    const base = e.ledger.firstSeqno - 1;
    for (const old of committedSnapshots(this.dir).slice(SNAPSHOTS_RETAINED_MAX))
      if (old.seqno !== base) unlinkSync(old.path);
    for (const name of readdirSync(this.dir))
      if (/^snapshot_\d+$/.test(name)) unlinkSync(join(this.dir, name));
    this.log.info("snapshot committed", { seqno, evidence_seqno: evidence, bytes });
    return path;
  }
}
