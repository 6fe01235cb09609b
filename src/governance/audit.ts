/**
 * `coterie gov audit DIR`: replays governance from ledger files alone. For every transaction that
 * records a signed request it (1) re-verifies the COSE signature against the member certificate
 * recorded in the state just before that transaction, (2) checks the record matches the signed
 * headers, and (3) re-runs the request through the same state machine (src/governance/requests.ts)
 * and the constitution recorded at that point, in the sandbox, and compares every governance write
 * with what the ledger holds. Outcome records written without a signed request are reported too.
 * Ledger integrity (Merkle roots, node signatures) is checked first by `verifyLedgerDirectory`;
 * the audit carries on past an integrity failure so it can name the altered request.
 */
import { X509Certificate } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { decodeCoseSign1, verifyCoseSign1 } from "../crypto/cose.ts";
import { sha256Hex } from "../crypto/hash.ts";
import { Store, type Tx, type WriteSet } from "../kv/index.ts";
import { CHUNK_HEADER_BYTES, firstSeqnoOfChunk, isChunkHeader, scanFrame } from "../ledger/chunk-format.ts";
import { decodeEntry, publicWritesOf } from "../ledger/entry.ts";
import { type VerifyReport, verifyLedgerDirectory } from "../ledger/verify.ts";
import {
  constitutionTable,
  memberAcks,
  openProposals,
  type ProposalInfo,
  proposals,
  proposalsInfo,
  type SignedRequestRecord,
  signedRequests,
} from "../tables/governance.ts";
import { memberCerts } from "../tables/identities.ts";
import { CoterieError } from "../util/errors.ts";
import { parseGovHeaders } from "./messages.ts";
import {
  acknowledgeState,
  type GovContext,
  submitBallot,
  submitProposal,
  type VerifiedRequest,
  withdrawProposal,
} from "./requests.ts";
import type { ConstitutionRuntime } from "./runtime.ts";

export type AuditFinding = {
  seqno: number;
  kind: "integrity" | "signature" | "record" | "outcome" | "unsigned-outcome";
  message: string;
  member_id?: string;
  proposal_id?: string;
};

export type AuditReport = {
  integrity: VerifyReport | null;
  entries: number;
  requests: number;
  /** Proposal id → its final recorded state. */
  proposals: Record<string, string>;
  findings: AuditFinding[];
};

export type AuditOptions = { serviceCertPem?: string; runtime: ConstitutionRuntime };

const decoder = new TextDecoder();
/** Maps only a signed governance request may change after genesis. */
const governedOnly = new Set([
  proposals.name,
  proposalsInfo.name,
  openProposals.name,
  constitutionTable.name,
]);

/** The ledger's entries in order; stops (with a finding) at the first frame it cannot read. */
function* entries(dir: string, findings: AuditFinding[]) {
  const names = readdirSync(dir)
    .filter((n) => firstSeqnoOfChunk(n) !== null)
    .sort();
  for (const name of names) {
    const buf = readFileSync(join(dir, name));
    if (!isChunkHeader(buf)) {
      findings.push({
        seqno: firstSeqnoOfChunk(name) as number,
        kind: "integrity",
        message: `${name}: bad chunk header`,
      });
      return;
    }
    let offset = CHUNK_HEADER_BYTES;
    while (offset < buf.length) {
      const frame = scanFrame(buf, offset);
      if (!frame.ok) {
        findings.push({
          seqno: 0,
          kind: "integrity",
          message: `${name} at byte ${offset}: frame ${frame.reason}`,
        });
        return;
      }
      yield decodeEntry(frame.entry);
      offset = frame.next;
    }
  }
}

/** Canonical text of a write set's writes outside `skip`, for comparison. */
function writesText(ws: WriteSet, skip: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of ws) {
    if (m.name === skip) continue;
    for (const w of m.writes) {
      out.set(`${m.name} ${decoder.decode(w.key)}`, w.value === null ? "<deleted>" : decoder.decode(w.value));
    }
  }
  return out;
}

export async function auditGovernance(dir: string, options: AuditOptions): Promise<AuditReport> {
  const findings: AuditFinding[] = [];
  let integrity: VerifyReport | null = null;
  try {
    integrity = verifyLedgerDirectory(
      dir,
      options.serviceCertPem ? { serviceCertPem: options.serviceCertPem } : {},
    );
  } catch (error) {
    findings.push({
      seqno: (error as { details?: { seqno?: number } }).details?.seqno ?? 0,
      kind: "integrity",
      message: (error as Error).message,
    });
  }
  const report: AuditReport = { integrity, entries: 0, requests: 0, proposals: {}, findings };
  const store = new Store();
  for (const e of entries(dir, findings)) {
    const seqno = e.header.seqno;
    const writes = publicWritesOf(e);
    const requests =
      writes.find((m) => m.name === signedRequests.name)?.writes.filter((w) => w.value !== null) ?? [];
    if (requests.length > 1)
      findings.push({ seqno, kind: "record", message: "more than one signed request in one transaction" });
    const request = requests[0];
    if (request?.value) {
      report.requests++;
      const record = JSON.parse(decoder.decode(request.value)) as SignedRequestRecord;
      await auditRequest(
        store,
        seqno,
        record,
        decoder.decode(request.key),
        writes,
        options.runtime,
        findings,
      );
    } else if (seqno > 1 && writes.some((m) => governedOnly.has(m.name))) {
      const maps = writes.filter((m) => governedOnly.has(m.name)).map((m) => m.name);
      findings.push({
        seqno,
        kind: "unsigned-outcome",
        message: `${maps.join(", ")} written without a signed request`,
      });
    }
    for (const w of writes.find((m) => m.name === proposalsInfo.name)?.writes ?? []) {
      if (w.value)
        report.proposals[decoder.decode(w.key)] = (JSON.parse(decoder.decode(w.value)) as ProposalInfo).state;
    }
    store.applyWriteSet(writes, seqno);
    store.compact(seqno);
    report.entries++;
  }
  return report;
}

async function auditRequest(
  store: Store,
  seqno: number,
  record: SignedRequestRecord,
  key: string,
  writes: WriteSet,
  runtime: ConstitutionRuntime,
  findings: AuditFinding[],
): Promise<void> {
  const what = `${record.type} by member ${record.member_id}${record.proposal_id ? ` on proposal ${record.proposal_id}` : ""}`;
  const note = (kind: AuditFinding["kind"], message: string) =>
    findings.push({
      seqno,
      kind,
      message: `${what}: ${message}`,
      member_id: record.member_id,
      ...(record.proposal_id ? { proposal_id: record.proposal_id } : {}),
    });
  const tx = store.beginTx({ reservedWrites: true });
  const verified = await verifyRecord(tx, record, key, note);
  if (verified === null) return;
  const ctx: GovContext = {
    runtime,
    seqnoContext: recordedSeqnoContext(writes, seqno),
    nowS: record.created_at,
    windowS: 1e12,
  };
  try {
    if (verified.type === "proposal") submitProposal(tx, verified, ctx);
    else if (verified.type === "ballot") submitBallot(tx, verified.proposalId as string, verified, ctx);
    else if (verified.type === "withdrawal")
      withdrawProposal(tx, verified.proposalId as string, verified, ctx);
    else if (verified.type === "ack") acknowledgeState(tx, verified, ctx);
  } catch (error) {
    note("outcome", `the node accepted it, but replaying it fails: ${(error as Error).message}`);
    return;
  }
  const expected = writesText(tx.writeSet(), signedRequests.name);
  const recorded = writesText(writes, signedRequests.name);
  for (const k of new Set([...expected.keys(), ...recorded.keys()])) {
    if (expected.get(k) === recorded.get(k)) continue;
    note(
      "outcome",
      `${k}: the ledger records ${recorded.get(k) ?? "<nothing>"}, recomputation gives ${expected.get(k) ?? "<nothing>"}`,
    );
  }
}

/**
 * The seqno context the node used: the one recorded with a new proposal or an ack (below the
 * entry's seqno), else seqno - 1 (what a synchronous handler reads at). Only proposal ids depend
 * on it; a wrong recorded context makes the recomputed id, and so every write, differ.
 */
function recordedSeqnoContext(writes: WriteSet, seqno: number): number {
  // The newest context recorded in this entry is the new proposal's (others it wrote, e.g.
  // proposals it dropped, are older).
  let newest = -1;
  for (const m of writes) {
    if (m.name !== proposalsInfo.name && m.name !== memberAcks.name) continue;
    for (const w of m.writes) {
      if (w.value === null) continue;
      const context = (JSON.parse(decoder.decode(w.value)) as { seqno_context?: unknown }).seqno_context;
      if (typeof context === "number" && Number.isSafeInteger(context) && context < seqno) {
        newest = Math.max(newest, context);
      }
    }
  }
  return newest >= 0 ? newest : seqno - 1;
}

/** Signature under the certificate recorded before this transaction, and headers matching the record. */
async function verifyRecord(
  tx: Tx,
  record: SignedRequestRecord,
  key: string,
  note: (kind: AuditFinding["kind"], message: string) => void,
): Promise<VerifiedRequest | null> {
  const bytes = new Uint8Array(Buffer.from(record.cose, "base64"));
  try {
    const decoded = decodeCoseSign1(bytes);
    const memberId = decoded.kid === null ? "" : Buffer.from(decoded.kid).toString("hex");
    const cert = memberCerts.in(tx).get(memberId);
    if (cert === undefined)
      throw new CoterieError("COTERIE_ERR_GOV_AUDIT_FAILED", "its kid names no member at this point");
    await verifyCoseSign1(
      decoded,
      new Uint8Array(new X509Certificate(cert).publicKey.export({ type: "spki", format: "der" })),
    );
    const headers = parseGovHeaders(decoded.protectedHeaders);
    const digest = sha256Hex(bytes);
    const same =
      memberId === record.member_id &&
      headers.type === record.type &&
      headers.createdAt === record.created_at &&
      headers.proposalId === (record.proposal_id ?? null) &&
      key === `${String(headers.createdAt).padStart(12, "0")}.${digest}`;
    if (!same) {
      note("record", "the record does not match its signed headers");
      return null;
    }
    return {
      memberId,
      type: headers.type,
      createdAt: headers.createdAt,
      proposalId: headers.proposalId,
      payload: decoded.payload ?? new Uint8Array(0),
      bytes,
      digest,
    };
  } catch (error) {
    note("signature", `signature check failed (forged or altered): ${(error as Error).message}`);
    return null;
  }
}
