/**
 * The joiner's side of catching up from a snapshot (routes: snapshot-route.ts). Once Trusted (it
 * holds its node certificate, the service certificate and the ledger secrets), it asks its join
 * target over mutual TLS with its node certificate:
 *
 * 1. `GET /node/snapshot/latest` → `{ seqno, evidence_seqno, bytes, file, receipt }`. The receipt
 *    must verify against the service certificate and be the evidence transaction's; its claims
 *    digest is then the SHA-256 the file must have. Checked before any byte of the file is fetched.
 * 2. `GET <file>` on the same target: streamed into `snapshots/<name>.fetching` (mode 0600), hashed
 *    as it arrives, refused beyond the announced `bytes` or beyond `fileBytesMax`
 *    (`snapshots.fetchBytesMax`); then fsynced, its SHA-256 and its header's seqno checked, renamed
 *    `snapshot_<seqno>_<evidence seqno>.committed` and the directory fsynced. Start-up then loads it
 *    like the node's own. Memory stays at one chunk, whatever the file's size.
 *
 * A target of an earlier version answers step 1 with the whole file in base64 (`snapshot`, no
 * `bytes`): that answer is still accepted (read whole, as before, within the same limit) and goes
 * through the same checks and the same file writer, so a rolling upgrade can join new nodes through
 * an old primary. A busy target (503: it sends `snapshots.servesMax` files already) is asked again
 * after its `retry-after`, a bounded number of times. No snapshot (404) or any failure: the partial
 * file is removed and the joiner replays from seqno 1, saying why in its log.
 */
import { createHash, type Hash } from "node:crypto";
import { mkdirSync, renameSync, rmSync } from "node:fs";
import { open } from "node:fs/promises";
import type { IncomingMessage } from "node:http";
import { request } from "node:https";
import { join } from "node:path";
import { Readable } from "node:stream";
import { privateKeyToPem } from "../crypto/keys.ts";
import { verifyReceipt } from "../crypto/receipt.ts";
import { SNAPSHOT_HEADER_BYTES, snapshotHeader } from "../ledger/snapshot.ts";
import { CoterieError } from "../util/errors.ts";
import type { Identity } from "./identity.ts";
import type { Logger } from "./logger.ts";
import { type SnapshotFile, syncDirectory } from "./snapshot-files.ts";
import type { LatestSnapshotResponse, LegacySnapshotResponse } from "./snapshot-route.ts";

/** Largest snapshot file a joiner accepts unless told (the default of `snapshots.fetchBytesMax`). */
export const SNAPSHOT_FETCH_BYTES_MAX = 1024 * 1024 * 1024;
/** Largest metadata answer (a receipt and four fields); an older node's answer is bounded separately. */
const SNAPSHOT_METADATA_BYTES_MAX = 1024 * 1024;
/** Inactivity on the connection after which a fetch is abandoned. */
const FETCH_IDLE_TIMEOUT_MS = 60_000;

/**
 * A target that sends as many snapshot files as it allows (503) is asked again, after its
 * `retry-after` (1 to 10 s), up to this many times; then the joiner replays from seqno 1.
 */
export const SNAPSHOT_BUSY_ATTEMPTS_MAX = 30;

export type FetchSnapshotOptions = { fileBytesMax?: number; busyAttemptsMax?: number };

const bad = (why: string) => new CoterieError("COTERIE_ERR_SNAPSHOT_MALFORMED", `fetched snapshot: ${why}`);

/** The target answered 503: busy (e.g. all its snapshot transfer slots taken); ask again later. */
class TargetBusy extends Error {
  readonly retryAfterMs: number;
  constructor(res: IncomingMessage) {
    super("the target is busy (503)");
    const seconds = Number(res.headers["retry-after"]);
    this.retryAfterMs = 1000 * (Number.isFinite(seconds) ? Math.min(Math.max(seconds, 1), 10) : 1);
  }
}

/** One mutual-TLS GET; resolves with the response (its body unread). */
function get(url: URL, identity: Identity): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: "GET",
        key: privateKeyToPem(identity.node.privateKey),
        cert: identity.nodeCert,
        ca: identity.serviceCert,
        checkServerIdentity: () => undefined,
        timeout: FETCH_IDLE_TIMEOUT_MS,
      },
      resolve,
    );
    req.on("timeout", () => req.destroy(new Error("snapshot request timed out")));
    req.on("error", reject);
    req.end();
  });
}

async function readAll(res: IncomingMessage, bytesMax: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of res as AsyncIterable<Buffer>) {
    bytes += chunk.length;
    if (bytes > bytesMax) throw bad(`answer larger than ${bytesMax} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

type Announced = { seqno: number; evidenceSeqno: number; claimsDigest: string };

/** Checks the metadata's receipt against the service certificate; returns what the file must match. */
export async function checkAnnouncement(
  answer: { seqno: unknown; evidence_seqno: unknown; receipt: unknown },
  serviceCert: string,
): Promise<Announced> {
  const { seqno, evidence_seqno: evidenceSeqno } = answer;
  if (!Number.isSafeInteger(seqno) || !Number.isSafeInteger(evidenceSeqno) || (seqno as number) < 1)
    throw bad("seqno and evidence_seqno must be positive integers");
  if (!((evidenceSeqno as number) > (seqno as number))) throw bad("evidence must follow the snapshot");
  const verified = await verifyReceipt(answer.receipt, serviceCert);
  if (verified.transactionId.split(".")[1] !== String(evidenceSeqno))
    throw bad("the receipt is not for the evidence transaction");
  return {
    seqno: seqno as number,
    evidenceSeqno: evidenceSeqno as number,
    claimsDigest: verified.claimsDigest,
  };
}

/**
 * Writes `chunks` to `path` (created 0600), hashing them, refusing any byte beyond `bytesExpected`
 * and a shorter body; fsyncs. Returns the SHA-256 (hex) and the file's header as read back.
 */
export async function receiveSnapshotFile(
  chunks: AsyncIterable<Buffer> | Iterable<Buffer>,
  path: string,
  bytesExpected: number,
): Promise<{ digest: string; header: Buffer }> {
  const hash: Hash = createHash("sha256");
  // Read back too (the header), after the fsync: what is checked is what is on disk.
  const file = await open(path, "w+", 0o600);
  try {
    let bytes = 0;
    for await (const chunk of chunks) {
      bytes += chunk.length;
      if (bytes > bytesExpected) throw bad(`more than the ${bytesExpected} bytes announced`);
      hash.update(chunk);
      for (let at = 0; at < chunk.length; ) at += (await file.write(chunk, at)).bytesWritten;
    }
    if (bytes !== bytesExpected) throw bad(`${bytes} bytes received, ${bytesExpected} announced`);
    await file.sync();
    const header = Buffer.alloc(Math.min(bytesExpected, SNAPSHOT_HEADER_BYTES));
    await file.read(header, 0, header.length, 0);
    return { digest: hash.digest("hex"), header };
  } finally {
    await file.close();
  }
}

/** The file's chunks (and its size) from a current target, or from an older one's answer. */
async function fileSource(
  target: string,
  answer: LatestSnapshotResponse | LegacySnapshotResponse,
  identity: Identity,
  fileBytesMax: number,
): Promise<{ chunks: AsyncIterable<Buffer> | Iterable<Buffer>; bytes: number }> {
  if (!("bytes" in answer) && typeof answer.snapshot === "string") {
    const bytes = Buffer.from(answer.snapshot, "base64");
    if (bytes.length > fileBytesMax) throw bad(`larger than ${fileBytesMax} bytes`);
    return { chunks: [bytes], bytes: bytes.length };
  }
  const { bytes, file } = answer as LatestSnapshotResponse;
  if (!Number.isSafeInteger(bytes) || bytes < SNAPSHOT_HEADER_BYTES) throw bad("bytes must be a file size");
  if (bytes > fileBytesMax) throw bad(`${bytes} bytes announced, more than the ${fileBytesMax} accepted`);
  // Only a path on the same target: the announcement never sends the node elsewhere.
  const url = new URL(typeof file === "string" && /^\/(?!\/)/.test(file) ? file : "/!", target);
  if (url.origin !== new URL(target).origin || !url.pathname.startsWith("/node/snapshot/"))
    throw bad("the file path is not a snapshot path on the target");
  const res = await get(url, identity);
  if (res.statusCode === 503) {
    res.resume();
    throw new TargetBusy(res);
  }
  if (res.statusCode !== 200) {
    res.resume();
    throw bad(`the file route answered ${res.statusCode}`);
  }
  const length = res.headers["content-length"];
  if (length !== undefined && Number(length) !== bytes) {
    res.destroy();
    throw bad(`content-length ${length}, ${bytes} bytes announced`);
  }
  return { chunks: res, bytes };
}

/**
 * Fetches, verifies and stores the target's latest committed snapshot; null when there is none or
 * anything fails (nothing is left behind then). A busy target (503) is asked again, at most
 * `busyAttemptsMax` times (SNAPSHOT_BUSY_ATTEMPTS_MAX), after its `retry-after`.
 */
export async function fetchLatestSnapshot(
  target: string,
  identity: Identity,
  dir: string,
  log: Logger,
  options: FetchSnapshotOptions = {},
): Promise<SnapshotFile | null> {
  const attemptsMax = options.busyAttemptsMax ?? SNAPSHOT_BUSY_ATTEMPTS_MAX;
  for (let attempt = 1; ; attempt++) {
    const outcome = await fetchOnce(target, identity, dir, log, options);
    if (!(outcome instanceof TargetBusy)) return outcome;
    if (attempt >= attemptsMax) {
      log.warn("the target stayed busy; replaying the ledger from seqno 1", { attempts: attempt });
      return null;
    }
    if (attempt === 1)
      log.info("the target is busy sending snapshots; asking again", {
        retry_after_ms: outcome.retryAfterMs,
      });
    await new Promise((resolve) => setTimeout(resolve, outcome.retryAfterMs));
  }
}

/** One attempt: the snapshot, null (none or failed), or `TargetBusy` to ask again later. */
async function fetchOnce(
  target: string,
  identity: Identity,
  dir: string,
  log: Logger,
  options: FetchSnapshotOptions,
): Promise<SnapshotFile | null | TargetBusy> {
  const fileBytesMax = options.fileBytesMax ?? SNAPSHOT_FETCH_BYTES_MAX;
  const leftovers: string[] = [];
  let source: Awaited<ReturnType<typeof fileSource>> | null = null;
  try {
    const res = await get(new URL("/node/snapshot/latest", target), identity);
    if (res.statusCode === 503) {
      res.resume();
      return new TargetBusy(res);
    }
    if (res.statusCode !== 200) {
      res.resume();
      log.info("no snapshot to catch up from; replaying the ledger from seqno 1", { status: res.statusCode });
      return null;
    }
    // An older target sends the file here in base64: allow for it (4/3 of the file, plus JSON).
    const answerBytesMax = SNAPSHOT_METADATA_BYTES_MAX + Math.ceil(fileBytesMax / 3) * 4;
    const answer = JSON.parse((await readAll(res, answerBytesMax)).toString("utf8")) as
      | LatestSnapshotResponse
      | LegacySnapshotResponse;
    const announced = await checkAnnouncement(answer, identity.serviceCert);
    source = await fileSource(target, answer, identity, fileBytesMax);
    const name = `snapshot_${announced.seqno}_${announced.evidenceSeqno}.committed`;
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const fetching = join(dir, `${name}.fetching`);
    leftovers.push(fetching);
    const { digest, header } = await receiveSnapshotFile(source.chunks, fetching, source.bytes);
    if (snapshotHeader(header).seqno !== announced.seqno) throw bad("seqno does not match the file");
    if (digest !== announced.claimsDigest) throw bad("the file's SHA-256 is not the receipt's claims");
    const path = join(dir, name);
    leftovers.push(path);
    renameSync(fetching, path);
    await syncDirectory(dir);
    log.info("fetched a committed snapshot to catch up from", {
      seqno: announced.seqno,
      bytes: source.bytes,
    });
    return { path, seqno: announced.seqno, evidenceSeqno: announced.evidenceSeqno };
  } catch (error) {
    if (source?.chunks instanceof Readable) source.chunks.destroy();
    for (const path of leftovers) rmSync(path, { force: true });
    if (error instanceof TargetBusy) return error;
    log.warn("could not fetch a snapshot; replaying the ledger from seqno 1", { error: String(error) });
    return null;
  }
}
