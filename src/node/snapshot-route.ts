/**
 * `GET /node/snapshot/latest`: the latest committed snapshot this node holds (a backup serves its
 * own; only the primary writes them today), for a joiner to catch up from. Answered only to a
 * Trusted node, authenticated by its node certificate over mutual TLS: the file holds every public
 * map in plaintext (and the private maps encrypted), which members did not open to users.
 *
 * The answer is JSON: `seqno`, `evidence_seqno`, `snapshot` (the file, base64) and `receipt`, the
 * receipt of the evidence transaction, whose claims digest is the file's SHA-256 — so the joiner
 * checks the file against the service certificate alone (snapshot-fetch.ts).
 */
import { join } from "node:path";
import { nodeInfo } from "../tables/identities.ts";
import { CoterieError } from "../util/errors.ts";
import type { BuiltinCall } from "./builtin-routes.ts";
import { sendJson } from "./http.ts";
import { latestCommittedSnapshot, readSnapshot } from "./snapshot-files.ts";

export type LatestSnapshotResponse = {
  seqno: number;
  evidence_seqno: number;
  snapshot: string;
  receipt: unknown;
};

export function handleLatestSnapshot({ res, certId, deps }: BuiltinCall): number {
  const engine = deps.engine;
  if (certId === null)
    throw new CoterieError("COTERIE_ERR_UNAUTHENTICATED", "a node certificate (mutual TLS) is required");
  const caller = nodeInfo.in(engine.store.beginTx()).get(certId);
  if (caller?.status !== "Trusted")
    throw new CoterieError("COTERIE_ERR_FORBIDDEN", "only a Trusted node may fetch snapshots");
  const file = latestCommittedSnapshot(join(deps.config.dataDir, "snapshots"));
  const receipt =
    file === null
      ? null
      : engine.receipt({ view: engine.views.viewOf(file.evidenceSeqno), seqno: file.evidenceSeqno });
  if (file === null || receipt === null)
    throw new CoterieError("COTERIE_ERR_NOT_FOUND", "this node holds no committed snapshot");
  const body: LatestSnapshotResponse = {
    seqno: file.seqno,
    evidence_seqno: file.evidenceSeqno,
    snapshot: readSnapshot(file).toString("base64"),
    receipt,
  };
  sendJson(res, 200, body);
  return 200;
}
