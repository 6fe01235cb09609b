/**
 * Offline verification of a whole ledger directory (`coterie ledger verify`): framing and CRCs,
 * entry structure, seqno continuity, the Merkle root in every signature transaction, every node
 * signature, and every node certificate's endorsement by the service certificate. The first
 * failure is reported with its file, byte offset and seqno. A ledger that starts after a snapshot
 * is verified from that snapshot (`VerifyOptions.snapshot`).
 */
import { X509Certificate } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { curveOf, verifyP1363 } from "../crypto/keys.ts";
import {
  NODE_KEY_SIGNATURES,
  type NodeKeyCurve,
  nodeSignatureBytes,
  signedRootMessage,
} from "../crypto/receipt.ts";
import { certificateId } from "../crypto/x509.ts";
import { snapshotEvidence } from "../tables/secrets.ts";
import { SERVICE_INFO_KEY, SERVICE_INFO_MAP } from "../tables/service.ts";
import { CoterieError } from "../util/errors.ts";
import { CHUNK_HEADER_BYTES, firstSeqnoOfChunk, isChunkHeader, scanFrame } from "./chunk-format.ts";
import { type DecodedEntry, decodeEntry, EntryKind, leafOf, publicWritesOf } from "./entry.ts";
import { leafHashSync, MerkleTree } from "./merkle-tree.ts";
import { type SignatureRecord, signatureRecordOf } from "./signature.ts";
import { decodeSnapshot, snapshotDigest, snapshotHead } from "./snapshot.ts";

const SNAPSHOT_EVIDENCE_MAP = snapshotEvidence.name;

/**
 * `snapshot`: the ledger starts right after this snapshot (a node that joined from one). Its
 * frontier continues the Merkle tree, its view history gives the views, its service record the
 * service certificate when none is given, and the ledger must record its digest
 * (`snapshot_evidence`) in an entry covered by a signature — that is what binds its contents.
 */
export type VerifyOptions = { serviceCertPem?: string; snapshot?: Buffer };

export type VerifyReport = {
  entries: number;
  signatures: number;
  lastSignedSeqno: number;
  /** Entries after the last signature: well-formed but not covered by any signature. */
  unsignedTail: number;
  serviceCertSource: "given" | "ledger" | "snapshot";
  chunks: string[];
  /** The snapshot the ledger started after, and the seqno of its evidence, when one was given. */
  snapshot: { seqno: number; evidenceSeqno: number } | null;
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
  readonly tree: MerkleTree;
  serviceCert: X509Certificate | null;
  readonly report: VerifyReport;
  private lastSignature: Position | null = null;
  private readonly certs = new Map<string, { cert: X509Certificate; curve: NodeKeyCurve }>();
  /** The snapshot's seqno, digest and where its evidence was seen (0: not yet). */
  private readonly base: { seqno: number; digest: string; view: number; evidenceSeqno: number } | null;

  constructor(options: VerifyOptions) {
    this.serviceCert = options.serviceCertPem ? new X509Certificate(options.serviceCertPem) : null;
    let source: VerifyReport["serviceCertSource"] = this.serviceCert ? "given" : "ledger";
    this.base = null;
    this.tree = new MerkleTree();
    if (options.snapshot !== undefined) {
      const bytes = options.snapshot;
      const at = { file: "snapshot", offset: 0, seqno: 0 };
      let head: ReturnType<typeof snapshotHead>;
      let maps: ReturnType<typeof decodeSnapshot>["maps"];
      try {
        head = snapshotHead(bytes);
        maps = decodeSnapshot(bytes, "public-only").maps;
        this.tree = MerkleTree.fromFrontier(head.seqno, head.frontier);
      } catch (err) {
        throw fail(at, (err as Error).message);
      }
      const view = head.viewStarts.at(-1)?.[0] ?? 1;
      this.base = { seqno: head.seqno, digest: snapshotDigest(bytes), view, evidenceSeqno: 0 };
      if (this.serviceCert === null) {
        const service = maps.find((m) => m.name === SERVICE_INFO_MAP);
        const record = [...(service?.entries ?? [])].find(
          (e) => Buffer.from(e.key).toString() === SERVICE_INFO_KEY,
        );
        let info: { cert?: unknown } | null = null;
        try {
          if (record !== undefined) info = JSON.parse(Buffer.from(record.value).toString());
        } catch {
          throw fail(at, "the snapshot's service record does not parse");
        }
        if (typeof info?.cert !== "string") throw fail(at, "the snapshot holds no service certificate");
        try {
          this.serviceCert = new X509Certificate(info.cert);
        } catch {
          throw fail(at, "the snapshot's service certificate does not parse");
        }
        source = "snapshot";
      }
    }
    this.report = {
      entries: 0,
      signatures: 0,
      lastSignedSeqno: 0,
      unsignedTail: 0,
      serviceCertSource: source,
      chunks: [],
      snapshot: null,
    };
  }

  /** Seqno of the last entry before the ledger's first, and the view it was in. */
  get start(): { seqno: number; view: number } {
    return { seqno: this.base?.seqno ?? 0, view: this.base?.view ?? 1 };
  }

  /** The snapshot's evidence must be in an entry a signature covers. */
  finish(at: Position): void {
    if (this.base === null) return;
    if (this.base.evidenceSeqno === 0 || this.base.evidenceSeqno > this.report.lastSignedSeqno)
      throw fail(at, `no signed entry records the evidence of snapshot ${this.base.seqno}`);
    this.report.snapshot = { seqno: this.base.seqno, evidenceSeqno: this.base.evidenceSeqno };
  }

  private snapshotEvidence(e: DecodedEntry, at: Position): void {
    const base = this.base as NonNullable<typeof this.base>;
    const m = safePublicWrites(e, at).find((x) => x.name === SNAPSHOT_EVIDENCE_MAP);
    const w = m?.writes.find((x) => Buffer.from(x.key).toString() === String(base.seqno));
    if (w === undefined || w.value === null) return;
    let digest: unknown;
    try {
      digest = (JSON.parse(Buffer.from(w.value).toString()) as { digest?: unknown }).digest;
    } catch {
      throw fail(at, "snapshot evidence does not parse");
    }
    if (digest !== base.digest)
      throw fail(at, `the evidence of snapshot ${base.seqno} records another digest: not this snapshot`);
    base.evidenceSeqno = at.seqno;
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
    if (this.report.serviceCertSource !== "given") this.learnServiceCert(e, at);
    if (this.base !== null && this.base.evidenceSeqno === 0) this.snapshotEvidence(e, at);
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
    const from = (this.lastSignature?.seqno ?? this.start.seqno) + 1;
    let root: string;
    try {
      root = this.tree.root(r.tree_size).toString("hex");
    } catch (err) {
      throw fail(at, `signed tree size ${r.tree_size}: ${(err as Error).message}`);
    }
    if (root !== r.root) {
      throw fail(
        at,
        `signed root does not match the entries ${from}..${at.seqno - 1}: one of them was altered`,
      );
    }
    const { cert, curve } = this.nodeCert(r.cert, at);
    if (certificateId(cert.raw) !== r.node_id)
      throw fail(at, "node_id is not the SHA-256 of the node certificate");
    const signature = nodeSignatureBytes(r.signature, curve);
    if (signature === null) {
      const bytes = NODE_KEY_SIGNATURES[curve].signatureBytes;
      throw fail(at, `node signature must be the base64 of ${bytes} bytes for a ${curve} node key (r ‖ s)`);
    }
    // verifyP1363 hashes with the key's curve: SHA-256 for P-256, SHA-384 for P-384.
    const signed = signedRootMessage(Buffer.from(r.root, "hex"), r.view, r.seqno);
    if (!verifyP1363(cert.publicKey, signed, signature)) {
      throw fail(at, "node signature over the root does not verify");
    }
    this.report.signatures++;
    this.report.lastSignedSeqno = at.seqno;
    this.lastSignature = at;
  }

  private nodeCert(pem: string, at: Position): { cert: X509Certificate; curve: NodeKeyCurve } {
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
    let curve: NodeKeyCurve;
    try {
      curve = curveOf(cert.publicKey);
    } catch {
      throw fail(at, "node key must be ECDSA P-256 or P-384");
    }
    const entry = { cert, curve };
    this.certs.set(pem, entry);
    return entry;
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
  let { seqno, view } = v.start;
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
  v.finish({ file: names.at(-1) ?? dir, offset: 0, seqno });
  v.report.unsignedTail = seqno - Math.max(v.report.lastSignedSeqno, v.start.seqno);
  return v.report;
}
