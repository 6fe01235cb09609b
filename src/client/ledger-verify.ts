/**
 * `verifyLedgerChunks`: the checks of `coterie ledger verify` (src/ledger/verify.ts) in a browser,
 * over chunk files the user picked — framing and CRCs, entry structure, seqno continuity, the
 * Merkle root in every signature transaction, every node signature (WebCrypto ECDSA, P1363), every
 * node certificate's endorsement by the service certificate (@peculiar/x509), a service identity
 * replaced by a disaster recovery only with an endorsement of the previous one, and a ledger that
 * starts after a snapshot from that snapshot (its tree frontier, its service certificate, and its
 * digest recorded in a signed entry). The first failure throws COTERIE_ERR_LEDGER_VERIFY_FAILED
 * with `details` {file, offset, seqno}, exactly as the CLI does; tests check that the two agree on
 * untouched and tampered ledgers, snapshots and recovered services.
 */
import { X509Certificate } from "@peculiar/x509";
import { fromHex, leafHash, nodeHash, sha256, toHex } from "../crypto/merkle.ts";
import {
  isNodeKeyCurve,
  NODE_KEY_SIGNATURES,
  type NodeKeyCurve,
  nodeSignatureBytes,
  signedRootMessage,
} from "../crypto/receipt.ts";
// Browser-safe: signature.ts only parses JSON (its write-set import is a type).
import { SIGNATURES_MAP, type SignatureRecord, signatureRecordOf } from "../ledger/signature.ts";
import { CoterieError } from "../util/errors.ts";
import {
  CHUNK_HEADER_BYTES,
  decodeEntry,
  decodeWriteSet,
  ENTRY_KIND,
  firstSeqnoOfChunk,
  isChunkHeader,
  type LedgerEntry,
  scanFrame,
} from "./ledger-format.ts";
import { decodeSnapshotPublic, type SnapshotPublic } from "./snapshot-format.ts";

export type LedgerChunk = { name: string; bytes: Uint8Array };
/**
 * `snapshot`: the chunks start right after this snapshot file (a node that joined from one); its
 * digest must be recorded (`snapshot_evidence`) in an entry a signature covers.
 */
export type LedgerVerifyOptions = { serviceCertPem?: string; snapshot?: Uint8Array };
/** Same fields as src/ledger/verify.ts VerifyReport. */
export type LedgerVerifyReport = {
  entries: number;
  signatures: number;
  lastSignedSeqno: number;
  unsignedTail: number;
  serviceCertSource: "given" | "ledger" | "snapshot";
  chunks: string[];
  /** The snapshot the ledger started after, and the seqno of its evidence, when one was given. */
  snapshot: { seqno: number; evidenceSeqno: number } | null;
};

/** Must equal SERVICE_INFO_MAP of src/tables/service.ts (a test checks; client may not import tables). */
export const SERVICE_INFO_MAP = "public:coterie.gov.service.info";
/** Must equal SERVICE_INFO_KEY of src/tables/service.ts (a test checks). */
export const SERVICE_INFO_KEY = "service";
/** Must equal the `snapshotEvidence` table's name in src/tables/secrets.ts (a test checks). */
export const SNAPSHOT_EVIDENCE_MAP = "public:coterie.internal.snapshot_evidence";
export { SIGNATURES_MAP };
/** A chunk set larger than this is refused rather than read into memory. */
export const LEDGER_CHUNKS_MAX = 100_000;

type Position = { file: string; offset: number; seqno: number };

function fail(at: Position, reason: string): CoterieError {
  return new CoterieError(
    "COTERIE_ERR_LEDGER_VERIFY_FAILED",
    `entry ${at.seqno} (${at.file} at byte ${at.offset}): ${reason}`,
    { details: at },
  );
}

/**
 * Verifies `chunks` (any order; named `ledger_<12-digit first seqno>.chunk`, other names ignored).
 * @example
 *   const report = await verifyLedgerChunks(files.map(f => ({ name: f.name, bytes })), { serviceCertPem });
 */
export async function verifyLedgerChunks(
  chunks: readonly LedgerChunk[],
  options: LedgerVerifyOptions = {},
): Promise<LedgerVerifyReport> {
  if (chunks.length > LEDGER_CHUNKS_MAX) throw new RangeError(`more than ${LEDGER_CHUNKS_MAX} chunks`);
  const v = await BrowserVerifier.create(options);
  const named = chunks
    .filter((c) => firstSeqnoOfChunk(c.name) !== null)
    .sort((a, b) => (a.name < b.name ? -1 : 1));
  let { seqno, view } = v.start;
  for (const { name, bytes } of named) {
    const first = firstSeqnoOfChunk(name) as number;
    if (first !== seqno + 1)
      throw fail({ file: name, offset: 0, seqno: seqno + 1 }, `chunk starts at ${first}`);
    if (!isChunkHeader(bytes)) throw fail({ file: name, offset: 0, seqno: first }, "bad chunk header");
    let offset = CHUNK_HEADER_BYTES;
    while (offset < bytes.length) {
      const at = { file: name, offset, seqno: seqno + 1 };
      const frame = scanFrame(bytes, offset);
      if (!frame.ok) throw fail(at, `frame ${frame.reason}`);
      view = (await v.entry(frame.entry, at, view)).view;
      seqno++;
      offset = frame.next;
    }
    v.report.chunks.push(name);
  }
  v.finish({ file: named.at(-1)?.name ?? "snapshot", offset: 0, seqno });
  v.report.unsignedTail = seqno - Math.max(v.report.lastSignedSeqno, v.start.seqno);
  return v.report;
}

/** RFC 9162 root of a growing tree, kept as the roots of its perfect subtrees (at most 64). */
export class MerklePeaks {
  private readonly peaks: { hash: Uint8Array; leaves: number }[] = [];
  size = 0;

  /**
   * A tree of `size` leaves known only by its frontier (the subtree roots, largest first), as a
   * snapshot holds it; refused with the words of src/ledger/merkle-tree.ts when they do not fit.
   */
  static fromFrontier(size: number, frontier: readonly Uint8Array[]): MerklePeaks {
    if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`frontier size ${size} is not valid`);
    const subtrees: number[] = []; // leaves per subtree, largest first (no 32-bit bit operations)
    for (let k = 0; 2 ** k <= size; k++) if (Math.floor(size / 2 ** k) % 2 === 1) subtrees.unshift(2 ** k);
    if (frontier.length !== subtrees.length)
      throw new RangeError(
        `a frontier of size ${size} has ${subtrees.length} hashes, got ${frontier.length}`,
      );
    const tree = new MerklePeaks();
    for (const [i, leaves] of subtrees.entries())
      tree.peaks.push({ hash: frontier[i] as Uint8Array, leaves });
    tree.size = size;
    return tree;
  }

  async append(leaf: Uint8Array): Promise<void> {
    let node = { hash: leaf, leaves: 1 };
    while (this.peaks.length > 0 && this.peaks[this.peaks.length - 1]?.leaves === node.leaves) {
      const left = this.peaks.pop() as { hash: Uint8Array; leaves: number };
      node = { hash: await nodeHash(left.hash, node.hash), leaves: left.leaves * 2 };
    }
    this.peaks.push(node);
    this.size++;
  }

  async root(): Promise<Uint8Array> {
    if (this.peaks.length === 0) return sha256(new Uint8Array(0));
    let acc = (this.peaks[this.peaks.length - 1] as { hash: Uint8Array }).hash;
    for (let i = this.peaks.length - 2; i >= 0; i--)
      acc = await nodeHash((this.peaks[i] as { hash: Uint8Array }).hash, acc);
    return acc;
  }
}

/** The snapshot a ledger starts after: its seqno, digest (hex), view, and where its evidence was seen. */
type Base = { seqno: number; digest: string; view: number; evidenceSeqno: number };

class BrowserVerifier {
  readonly tree: MerklePeaks;
  serviceCert: X509Certificate | null;
  readonly report: LedgerVerifyReport;
  private lastSignature: Position | null = null;
  private readonly certs = new Map<
    string,
    { cert: X509Certificate; key: CryptoKey; curve: NodeKeyCurve; hash: string }
  >();
  private readonly base: Base | null;

  private constructor(
    tree: MerklePeaks,
    serviceCert: X509Certificate | null,
    source: LedgerVerifyReport["serviceCertSource"],
    base: Base | null,
  ) {
    this.tree = tree;
    this.serviceCert = serviceCert;
    this.base = base;
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

  /** Mirrors the CLI verifier's constructor, check for check and word for word. */
  static async create(options: LedgerVerifyOptions): Promise<BrowserVerifier> {
    let serviceCert = options.serviceCertPem ? new X509Certificate(options.serviceCertPem) : null;
    let source: LedgerVerifyReport["serviceCertSource"] = serviceCert ? "given" : "ledger";
    if (options.snapshot === undefined)
      return new BrowserVerifier(new MerklePeaks(), serviceCert, source, null);
    const bytes = options.snapshot;
    const at = { file: "snapshot", offset: 0, seqno: 0 };
    let head: SnapshotPublic;
    let tree: MerklePeaks;
    try {
      head = decodeSnapshotPublic(bytes);
      tree = MerklePeaks.fromFrontier(head.seqno, head.frontier);
    } catch (err) {
      throw fail(at, (err as Error).message);
    }
    const view = head.viewStarts.at(-1)?.[0] ?? 1;
    const base = { seqno: head.seqno, digest: toHex(await sha256(bytes)), view, evidenceSeqno: 0 };
    if (serviceCert === null) {
      const service = head.maps.find((m) => m.name === SERVICE_INFO_MAP);
      const record = service?.entries.find((e) => new TextDecoder().decode(e.key) === SERVICE_INFO_KEY);
      let info: { cert?: unknown } | null = null;
      try {
        if (record !== undefined) info = JSON.parse(new TextDecoder().decode(record.value));
      } catch {
        throw fail(at, "the snapshot's service record does not parse");
      }
      if (typeof info?.cert !== "string") throw fail(at, "the snapshot holds no service certificate");
      try {
        serviceCert = new X509Certificate(info.cert);
      } catch {
        throw fail(at, "the snapshot's service certificate does not parse");
      }
      source = "snapshot";
    }
    return new BrowserVerifier(tree, serviceCert, source, base);
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

  private snapshotEvidence(e: LedgerEntry, at: Position): void {
    const base = this.base as Base;
    const m = publicWrites(e, at).find((x) => x.name === SNAPSHOT_EVIDENCE_MAP);
    const w = m?.writes.find((x) => new TextDecoder().decode(x.key) === String(base.seqno));
    if (w === undefined || w.value === null) return;
    let digest: unknown;
    try {
      digest = (JSON.parse(new TextDecoder().decode(w.value)) as { digest?: unknown }).digest;
    } catch {
      throw fail(at, "snapshot evidence does not parse");
    }
    if (digest !== base.digest)
      throw fail(at, `the evidence of snapshot ${base.seqno} records another digest: not this snapshot`);
    base.evidenceSeqno = at.seqno;
  }

  async entry(bytes: Uint8Array, at: Position, previousView: number): Promise<LedgerEntry> {
    let e: LedgerEntry;
    try {
      e = decodeEntry(bytes);
    } catch (err) {
      throw fail(at, (err as Error).message);
    }
    if (e.seqno !== at.seqno) throw fail(at, `header says seqno ${e.seqno}`);
    if (e.view < previousView) throw fail(at, `view ${e.view} goes back from ${previousView}`);
    const leaf = concat(await sha256(e.writeSetBytes), e.commitEvidenceDigest, e.claimsDigest);
    if (this.report.serviceCertSource !== "given") await this.learnServiceCert(e, at);
    if (this.base !== null && this.base.evidenceSeqno === 0) this.snapshotEvidence(e, at);
    if (e.kind === ENTRY_KIND.signature) await this.signature(e, at);
    await this.tree.append(await leafHash(leaf));
    this.report.entries++;
    return e;
  }

  private async learnServiceCert(e: LedgerEntry, at: Position): Promise<void> {
    for (const m of publicWrites(e, at)) {
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
        else if (!sameBytes(next.rawData, this.serviceCert.rawData))
          await this.recovered(next, info.previous_identities, at);
      }
    }
  }

  /**
   * A disaster recovery gave the service a new identity: accepted only when the record's last
   * `previous_identities` entry is a certificate of the current service key signed by the new one.
   * From then on node certificates must be endorsed by the new identity.
   */
  private async recovered(next: X509Certificate, previous: unknown, at: Position): Promise<void> {
    const current = this.serviceCert as X509Certificate;
    const last = Array.isArray(previous) ? previous.at(-1) : undefined;
    let endorsed = false;
    try {
      const e = new X509Certificate(typeof last === "string" ? last : "");
      endorsed =
        sameBytes(e.publicKey.rawData, current.publicKey.rawData) &&
        (await e.verify({ publicKey: next.publicKey, signatureOnly: true }, globalThis.crypto));
    } catch {
      endorsed = false;
    }
    if (!endorsed)
      throw fail(at, "the service certificate changed without an endorsement of the previous one");
    this.serviceCert = next;
    this.certs.clear();
  }

  private async signature(e: LedgerEntry, at: Position): Promise<void> {
    let r: SignatureRecord;
    try {
      r = signatureRecordOf(decodeWriteSet(e.publicSection), e.view, e.seqno);
    } catch (err) {
      throw fail(at, (err as Error).message);
    }
    const from = (this.lastSignature?.seqno ?? this.start.seqno) + 1;
    const root = toHex(await this.tree.root());
    if (this.tree.size !== r.tree_size || root !== r.root) {
      throw fail(
        at,
        `signed root does not match the entries ${from}..${at.seqno - 1}: one of them was altered`,
      );
    }
    const node = await this.nodeCert(r.cert, at);
    if (node.hash !== r.node_id) throw fail(at, "node_id is not the SHA-256 of the node certificate");
    const signature = nodeSignatureBytes(r.signature, node.curve);
    if (signature === null) {
      const bytes = NODE_KEY_SIGNATURES[node.curve].signatureBytes;
      throw fail(
        at,
        `node signature must be the base64 of ${bytes} bytes for a ${node.curve} node key (r ‖ s)`,
      );
    }
    const signed = signedRootMessage(fromHex(r.root), r.view, r.seqno);
    const ok = await globalThis.crypto.subtle.verify(
      { name: "ECDSA", hash: NODE_KEY_SIGNATURES[node.curve].hash },
      node.key,
      signature as Uint8Array<ArrayBuffer>,
      signed as Uint8Array<ArrayBuffer>,
    );
    if (!ok) throw fail(at, "node signature over the root does not verify");
    this.report.signatures++;
    this.report.lastSignedSeqno = at.seqno;
    this.lastSignature = at;
  }

  private async nodeCert(pem: string, at: Position) {
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
    let endorsed = false;
    try {
      endorsed = await cert.verify(
        { publicKey: this.serviceCert.publicKey, signatureOnly: true },
        globalThis.crypto,
      );
    } catch {
      endorsed = false;
    }
    if (!endorsed) throw fail(at, "node certificate is not endorsed by the service certificate");
    const algorithm = cert.publicKey.algorithm as EcKeyAlgorithm;
    const curve = algorithm.namedCurve;
    if (algorithm.name !== "ECDSA" || !isNodeKeyCurve(curve))
      throw fail(at, "node key must be ECDSA P-256 or P-384");
    const key = await cert.publicKey.export(algorithm, ["verify"], globalThis.crypto);
    const entry = { cert, key, curve, hash: toHex(await sha256(new Uint8Array(cert.rawData))) };
    this.certs.set(pem, entry);
    return entry;
  }
}

function publicWrites(e: LedgerEntry, at: Position) {
  try {
    return decodeWriteSet(e.publicSection);
  } catch (err) {
    throw fail(at, (err as Error).message);
  }
}

function sameBytes(a: ArrayBuffer, b: ArrayBuffer): boolean {
  if (a.byteLength !== b.byteLength) return false;
  const x = new Uint8Array(a);
  const y = new Uint8Array(b);
  return x.every((byte, i) => byte === y[i]);
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
