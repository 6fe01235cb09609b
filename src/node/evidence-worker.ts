// The worker thread of evidence-prefetch.ts: computes the commit evidence MAC and digest of a window
// of consecutive seqnos of one view under one commit-evidence key, with the same functions the
// engine uses inline, and hands the window back as one transferred buffer. It keeps nothing between
// requests and logs nothing (the key is a secret).
import { parentPort } from "node:worker_threads";
import { commitEvidenceDigest, commitEvidenceMac, commitEvidenceOfMac } from "../ledger/commit-evidence.ts";
import { EVIDENCE_SLOT_BYTES, type EvidenceRequest, type EvidenceWindow } from "./evidence-prefetch.ts";

const port = parentPort;
if (port === null) throw new Error("evidence-worker.ts runs only as a worker thread");

port.on("message", (req: EvidenceRequest) => {
  const data = new Uint8Array(req.count * EVIDENCE_SLOT_BYTES);
  for (let i = 0; i < req.count; i++) {
    const seqno = req.from + i;
    const mac = commitEvidenceMac(req.key, req.view, seqno);
    data.set(mac, i * EVIDENCE_SLOT_BYTES);
    data.set(commitEvidenceDigest(commitEvidenceOfMac(req.view, seqno, mac)), i * EVIDENCE_SLOT_BYTES + 32);
  }
  const out: EvidenceWindow = { id: req.id, data };
  port.postMessage(out, [data.buffer]);
});
