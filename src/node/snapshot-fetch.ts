/**
 * The joiner's side of catching up from a snapshot: once Trusted (it holds its node certificate,
 * the service certificate and the ledger secrets), it asks its join target for
 * `GET /node/snapshot/latest` over mutual TLS with its node certificate, and accepts the file only
 * if the evidence transaction's receipt verifies against the service certificate and its claims
 * digest is the file's SHA-256. The file is then written as a committed snapshot, which start-up
 * loads like the node's own. No snapshot (404) or any failure: the joiner replays from seqno 1.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, writeSync } from "node:fs";
import { request } from "node:https";
import { join } from "node:path";
import { privateKeyToPem } from "../crypto/keys.ts";
import { verifyReceipt } from "../crypto/receipt.ts";
import { snapshotDigest, snapshotHeader } from "../ledger/snapshot.ts";
import { CoterieError } from "../util/errors.ts";
import type { Identity } from "./identity.ts";
import type { Logger } from "./logger.ts";
import type { SnapshotFile } from "./snapshot-files.ts";
import type { LatestSnapshotResponse } from "./snapshot-route.ts";

/** Largest answer accepted (the file in base64 plus its receipt). */
export const SNAPSHOT_RESPONSE_BYTES_MAX = 1024 * 1024 * 1024;
const FETCH_TIMEOUT_MS = 60_000;

function get(url: string, identity: Identity): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: "GET",
        key: privateKeyToPem(identity.node.privateKey),
        cert: identity.nodeCert,
        ca: identity.serviceCert,
        checkServerIdentity: () => undefined,
        timeout: FETCH_TIMEOUT_MS,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let bytes = 0;
        res.on("data", (c: Buffer) => {
          bytes += c.length;
          if (bytes > SNAPSHOT_RESPONSE_BYTES_MAX) req.destroy(new Error("snapshot answer too large"));
          else chunks.push(c);
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      },
    );
    req.on("timeout", () => req.destroy(new Error("snapshot request timed out")));
    req.on("error", reject);
    req.end();
  });
}

/** Checks the answer against the service certificate; returns the file bytes. */
export async function verifiedSnapshot(answer: LatestSnapshotResponse, serviceCert: string): Promise<Buffer> {
  const bytes = Buffer.from(answer.snapshot, "base64");
  const bad = (why: string) => new CoterieError("COTERIE_ERR_SNAPSHOT_MALFORMED", `fetched snapshot: ${why}`);
  if (snapshotHeader(bytes).seqno !== answer.seqno) throw bad("seqno does not match the file");
  if (!(answer.evidence_seqno > answer.seqno)) throw bad("evidence must follow the snapshot");
  const verified = await verifyReceipt(answer.receipt, serviceCert);
  if (verified.transactionId.split(".")[1] !== String(answer.evidence_seqno))
    throw bad("the receipt is not for the evidence transaction");
  if (verified.claimsDigest !== snapshotDigest(bytes))
    throw bad("the file's SHA-256 is not the receipt's claims");
  return bytes;
}

function writeDurably(dir: string, name: string, bytes: Buffer): string {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = join(dir, `${name}.fetching`);
  const fd = openSync(tmp, "w", 0o600);
  try {
    for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  const path = join(dir, name);
  renameSync(tmp, path);
  return path;
}

/** Fetches, verifies and stores the target's latest committed snapshot; null when there is none. */
export async function fetchLatestSnapshot(
  target: string,
  identity: Identity,
  dir: string,
  log: Logger,
): Promise<SnapshotFile | null> {
  try {
    const reply = await get(`${target}/node/snapshot/latest`, identity);
    if (reply.status !== 200) {
      log.info("no snapshot to catch up from; replaying the ledger from seqno 1", { status: reply.status });
      return null;
    }
    const answer = JSON.parse(reply.body.toString("utf8")) as LatestSnapshotResponse;
    const bytes = await verifiedSnapshot(answer, identity.serviceCert);
    const name = `snapshot_${answer.seqno}_${answer.evidence_seqno}.committed`;
    const path = writeDurably(dir, name, bytes);
    log.info("fetched a committed snapshot to catch up from", { seqno: answer.seqno, bytes: bytes.length });
    return { path, seqno: answer.seqno, evidenceSeqno: answer.evidence_seqno };
  } catch (error) {
    log.warn("could not fetch a snapshot; replaying the ledger from seqno 1", { error: String(error) });
    return null;
  }
}
