/**
 * The snapshot routes a joiner catches up from (snapshot-fetch.ts), answered only to a Trusted
 * node, authenticated by its node certificate over mutual TLS: the file holds every public map in
 * plaintext (and the private maps encrypted), which members did not open to users.
 *
 * - `GET /node/snapshot/latest`: the latest committed snapshot this node holds (a backup serves its
 *   own; only the primary writes them today), as JSON metadata only: `seqno`, `evidence_seqno`,
 *   `bytes` (the file's size), `file` (the path of the file route below, on this node) and
 *   `receipt`, the receipt of the evidence transaction, whose claims digest is the file's SHA-256 —
 *   so the joiner checks the file against the service certificate alone.
 * - `GET /node/snapshot/<seqno>_<evidence seqno>`: the file itself, `application/octet-stream`
 *   with its `content-length`, streamed from disk with backpressure (a 70 MB file in one JSON
 *   answer held the event loop for hundreds of milliseconds, past an election timeout). Any
 *   committed snapshot this node still holds; another name is COTERIE_ERR_NOT_FOUND. The name is
 *   parsed into two integers and looked up among the committed files: it never becomes a path.
 *
 * Nodes before this version answered `/latest` with the whole file in base64 (`snapshot`, no
 * `bytes`); a joiner of this version still accepts that answer (snapshot-fetch.ts).
 */
import type { FileHandle } from "node:fs/promises";
import { open, stat } from "node:fs/promises";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { nodeInfo } from "../tables/identities.ts";
import { CoterieError } from "../util/errors.ts";
import type { BuiltinCall } from "./builtin-routes.ts";
import type { Engine } from "./engine.ts";
import { sendJson } from "./http.ts";
import {
  committedSnapshotNamed,
  latestCommittedSnapshot,
  type SnapshotFile,
  snapshotName,
} from "./snapshot-files.ts";

/** The file route: this prefix, then `<seqno>_<evidence seqno>`. */
export const SNAPSHOT_FILE_PATH_PREFIX = "/node/snapshot/";
/** Bytes read from disk per chunk of the file route (one TLS write each). */
const SNAPSHOT_READ_CHUNK_BYTES = 64 * 1024;

export type LatestSnapshotResponse = {
  seqno: number;
  evidence_seqno: number;
  /** Size of the file in bytes. */
  bytes: number;
  /** Path of the file on this node: `/node/snapshot/<seqno>_<evidence seqno>`. */
  file: string;
  receipt: unknown;
};

/** What nodes before the file route answered: the whole file in base64. */
export type LegacySnapshotResponse = {
  seqno: number;
  evidence_seqno: number;
  snapshot: string;
  receipt: unknown;
};

export function snapshotFilePath(file: Pick<SnapshotFile, "seqno" | "evidenceSeqno">): string {
  return `${SNAPSHOT_FILE_PATH_PREFIX}${snapshotName(file)}`;
}

function requireTrustedNode(engine: Engine, certId: string | null): void {
  if (certId === null)
    throw new CoterieError("COTERIE_ERR_UNAUTHENTICATED", "a node certificate (mutual TLS) is required");
  const caller = nodeInfo.in(engine.store.beginTx()).get(certId);
  if (caller?.status !== "Trusted")
    throw new CoterieError("COTERIE_ERR_FORBIDDEN", "only a Trusted node may fetch snapshots");
}

const snapshotsDir = (call: BuiltinCall) => join(call.deps.config.dataDir, "snapshots");
const noSnapshot = () => new CoterieError("COTERIE_ERR_NOT_FOUND", "this node holds no committed snapshot");
const isMissing = (error: unknown) => (error as NodeJS.ErrnoException | null)?.code === "ENOENT";

export async function handleLatestSnapshot(call: BuiltinCall): Promise<number> {
  const engine = call.deps.engine;
  requireTrustedNode(engine, call.certId);
  const file = latestCommittedSnapshot(snapshotsDir(call));
  const receipt =
    file === null
      ? null
      : engine.receipt({ view: engine.views.viewOf(file.evidenceSeqno), seqno: file.evidenceSeqno });
  if (file === null || receipt === null) throw noSnapshot();
  // Deleted meanwhile (only the newest three are kept): as if there were none.
  const bytes = await stat(file.path).then(
    (s) => s.size,
    (error: unknown) => {
      throw isMissing(error) ? noSnapshot() : error;
    },
  );
  const body: LatestSnapshotResponse = {
    seqno: file.seqno,
    evidence_seqno: file.evidenceSeqno,
    bytes,
    file: snapshotFilePath(file),
    receipt,
  };
  sendJson(call.res, 200, body);
  return 200;
}

/** Snapshot files being sent, per frontend (bounded by `snapshots.servesMax`). */
const transfers = new WeakMap<object, number>();
/** Seconds a joiner refused for a full transfer slot is told to wait (`retry-after`). */
export const SNAPSHOT_RETRY_AFTER_S = 1;

/**
 * `GET /node/snapshot/{name}`; resolves once the whole file is sent (or the transfer failed). At
 * most `snapshots.servesMax` run at once; another is answered 503 COTERIE_ERR_TOO_MANY_REQUESTS
 * with `retry-after`. (They are not counted in `http.requestsInFlightMax`: the route's `ownLimit`.)
 */
export async function handleSnapshotFile(call: BuiltinCall): Promise<number> {
  requireTrustedNode(call.deps.engine, call.certId);
  const active = transfers.get(call.deps) ?? 0;
  const max = call.deps.config.snapshots.servesMax;
  if (active >= max) {
    call.res.setHeader("retry-after", String(SNAPSHOT_RETRY_AFTER_S));
    throw new CoterieError(
      "COTERIE_ERR_TOO_MANY_REQUESTS",
      `this node sends at most ${max} snapshot files at once; retry later`,
    );
  }
  transfers.set(call.deps, active + 1);
  try {
    return await sendSnapshotFile(call);
  } finally {
    transfers.set(call.deps, (transfers.get(call.deps) ?? 1) - 1);
  }
}

async function sendSnapshotFile(call: BuiltinCall): Promise<number> {
  const name = call.url.pathname.slice(SNAPSHOT_FILE_PATH_PREFIX.length);
  const file = committedSnapshotNamed(snapshotsDir(call), name);
  if (file === null)
    throw new CoterieError("COTERIE_ERR_NOT_FOUND", "no such committed snapshot on this node");
  let handle: FileHandle;
  try {
    // Once open, the file stays readable even if the service deletes it meanwhile.
    handle = await open(file.path, "r");
  } catch (error) {
    throw isMissing(error) ? new CoterieError("COTERIE_ERR_NOT_FOUND", "no such committed snapshot") : error;
  }
  let stream: ReturnType<FileHandle["createReadStream"]> | null = null;
  try {
    const { size } = await handle.stat();
    call.res.writeHead(200, { "content-type": "application/octet-stream", "content-length": size });
    if (size === 0) call.res.end();
    else {
      // A committed file never changes; `end` keeps the body to the announced length regardless.
      stream = handle.createReadStream({ start: 0, end: size - 1, highWaterMark: SNAPSHOT_READ_CHUNK_BYTES });
      await pipeline(stream, call.res);
    }
  } finally {
    // The stream closes the handle when it ends or is destroyed.
    if (stream === null) await handle.close();
  }
  return 200;
}
