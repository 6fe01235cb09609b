/**
 * Offline verification of a whole ledger directory (`coterie ledger verify`): framing and CRCs,
 * entry structure, seqno continuity, the Merkle root in every signature transaction, every node
 * signature, and every node certificate's endorsement by the service certificate. The first
 * failure is reported with its file, byte offset and seqno.
 */
import { X509Certificate } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { verifyP1363 } from "../crypto/keys.ts";
import { signedRootMessage } from "../crypto/receipt.ts";
import { certificateId } from "../crypto/x509.ts";
import { SERVICE_INFO_MAP } from "../tables/service.ts";
import { CoterieError } from "../util/errors.ts";
import { CHUNK_HEADER_BYTES, firstSeqnoOfChunk, isChunkHeader, scanFrame } from "./chunk-format.ts";
import { type DecodedEntry, decodeEntry, EntryKind, leafOf, publicWritesOf } from "./entry.ts";
import { leafHashSync, MerkleTree } from "./merkle-tree.ts";
import { type SignatureRecord, signatureRecordOf } from "./signature.ts";

export type VerifyOptions = { serviceCertPem?: string };

export type VerifyReport = {
  entries: number;
  signatures: number;
  lastSignedSeqno: number;
  /** Entries after the last signature: well-formed but not covered by any signature. */
  unsignedTail: number;
  serviceCertSource: "given" | "ledger";
  chunks: string[];
};

type Position = { file: string; offset: number; seqno: number };

function fail(at: Position, reason: string): CoterieError {
  return new CoterieError(
    "COTERIE_ERR_LEDGER_VERIFY_FAILED",
    `entry ${at.seqno} (${at.file} at byte ${at.offset}): ${reason}`,
    { details: at },
  );
}

class Verifier {
  readonly tree = new MerkleTree();
  serviceCert: X509Certificate | null;
  readonly report: VerifyReport;
  private lastSignature: Position | null = null;
  private readonly certs = new Map<string, X509Certificate>();

  constructor(options: VerifyOptions) {
    this.serviceCert = options.serviceCertPem ? new X509Certificate(options.serviceCertPem) : null;
    this.report = {
      entries: 0,
      signatures: 0,
      lastSignedSeqno: 0,
      unsignedTail: 0,
      serviceCertSource: this.serviceCert ? "given" : "ledger",
      chunks: [],
    };
  }

  entry(bytes: Buffer, at: Position, previousView: number): DecodedEntry {
    let e: DecodedEntry;
    try {
      e = decodeEntry(bytes);
    } catch (err) {
      throw fail(at, (err as Error).message);
    }
    if (e.header.seqno !== at.seqno) throw fail(at, `header says seqno ${e.header.seqno}`);
    if (e.header.view < previousView) throw fail(at, `view ${e.header.view} goes back from ${previousView}`);
    const leaf = leafOf(e);
    if (this.report.serviceCertSource === "ledger") this.learnServiceCert(e, at);
    if (e.header.kind === EntryKind.signature) this.signature(e, at);
    this.tree.append(leafHashSync(leaf));
    this.report.entries++;
    return e;
  }

  private learnServiceCert(e: DecodedEntry, at: Position): void {
    for (const m of safePublicWrites(e, at)) {
      if (m.name !== SERVICE_INFO_MAP) continue;
      for (const w of m.writes) {
        if (w.value === null) continue;
        const info = JSON.parse(new TextDecoder().decode(w.value)) as {
          cert?: string;
          previous_identities?: unknown;
        };
        if (typeof info.cert !== "string") continue;
        const next = new X509Certificate(info.cert);
        if (this.serviceCert === null) this.serviceCert = next;
        else if (!next.raw.equals(this.serviceCert.raw)) this.recovered(next, info.previous_identities, at);
      }
    }
  }

  /**
   * A disaster recovery gave the service a new identity: accepted only when the record's last
   * `previous_identities` entry is a certificate of the current service key signed by the new one.
   * From then on node certificates must be endorsed by the new identity.
   */
  private recovered(next: X509Certificate, previous: unknown, at: Position): void {
    const current = this.serviceCert as X509Certificate;
    const last = Array.isArray(previous) ? previous.at(-1) : undefined;
    let endorsed = false;
    try {
      const e = new X509Certificate(typeof last === "string" ? last : "");
      endorsed = e.publicKey.equals(current.publicKey) && e.verify(next.publicKey);
    } catch {
      endorsed = false;
    }
    if (!endorsed)
      throw fail(at, "the service certificate changed without an endorsement of the previous one");
    this.serviceCert = next;
    this.certs.clear();
  }

  private signature(e: DecodedEntry, at: Position): void {
    let r: SignatureRecord;
    try {
      r = signatureRecordOf(publicWritesOf(e), e.header.view, e.header.seqno);
    } catch (err) {
      throw fail(at, (err as Error).message);
    }
    const from = (this.lastSignature?.seqno ?? 0) + 1;
    const root = this.tree.root(r.tree_size).toString("hex");
    if (root !== r.root) {
      throw fail(
        at,
        `signed root does not match the entries ${from}..${at.seqno - 1}: one of them was altered`,
      );
    }
    const cert = this.nodeCert(r.cert, at);
    if (certificateId(cert.raw) !== r.node_id)
      throw fail(at, "node_id is not the SHA-256 of the node certificate");
    const signed = signedRootMessage(Buffer.from(r.root, "hex"), r.view, r.seqno);
    if (!verifyP1363(cert.publicKey, signed, Buffer.from(r.signature, "base64"))) {
      throw fail(at, "node signature over the root does not verify");
    }
    this.report.signatures++;
    this.report.lastSignedSeqno = at.seqno;
    this.lastSignature = at;
  }

  private nodeCert(pem: string, at: Position): X509Certificate {
    const cached = this.certs.get(pem);
    if (cached) return cached;
    if (this.serviceCert === null)
      throw fail(at, "no service certificate given and none recorded before this signature");
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(pem);
    } catch {
      throw fail(at, "node certificate does not parse");
    }
    if (!cert.verify(this.serviceCert.publicKey))
      throw fail(at, "node certificate is not endorsed by the service certificate");
    this.certs.set(pem, cert);
    return cert;
  }
}

function safePublicWrites(e: DecodedEntry, at: Position) {
  try {
    return publicWritesOf(e);
  } catch (err) {
    throw fail(at, (err as Error).message);
  }
}

/** Verifies every chunk in `dir`; throws COTERIE_ERR_LEDGER_VERIFY_FAILED at the first bad entry. */
export function verifyLedgerDirectory(dir: string, options: VerifyOptions = {}): VerifyReport {
  const v = new Verifier(options);
  const names = readdirSync(dir)
    .filter((n) => firstSeqnoOfChunk(n) !== null)
    .sort();
  let seqno = 0;
  let view = 1;
  for (const name of names) {
    const buf = readFileSync(join(dir, name));
    const first = firstSeqnoOfChunk(name) as number;
    if (first !== seqno + 1)
      throw fail({ file: name, offset: 0, seqno: seqno + 1 }, `chunk starts at ${first}`);
    if (!isChunkHeader(buf)) throw fail({ file: name, offset: 0, seqno: first }, "bad chunk header");
    let offset = CHUNK_HEADER_BYTES;
    while (offset < buf.length) {
      const at = { file: name, offset, seqno: seqno + 1 };
      const frame = scanFrame(buf, offset);
      if (!frame.ok) throw fail(at, `frame ${frame.reason}`);
      view = v.entry(frame.entry, at, view).header.view;
      seqno++;
      offset = frame.next;
    }
    v.report.chunks.push(name);
  }
  v.report.unsignedTail = seqno - v.report.lastSignedSeqno;
  return v.report;
}
