/**
 * `verifyLedgerChunks`: the checks of `coterie ledger verify` (src/ledger/verify.ts) in a browser,
 * over chunk files the user picked — framing and CRCs, entry structure, seqno continuity, the
 * Merkle root in every signature transaction, every node signature (WebCrypto ECDSA, P1363), and
 * every node certificate's endorsement by the service certificate (@peculiar/x509). The first
 * failure throws COTERIE_ERR_LEDGER_VERIFY_FAILED with `details` {file, offset, seqno}, exactly as
 * the CLI does; a test checks that the two agree on untouched and tampered ledgers.
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

export type LedgerChunk = { name: string; bytes: Uint8Array };
export type LedgerVerifyOptions = { serviceCertPem?: string };
/** Same fields as src/ledger/verify.ts VerifyReport. */
export type LedgerVerifyReport = {
  entries: number;
  signatures: number;
  lastSignedSeqno: number;
  unsignedTail: number;
  serviceCertSource: "given" | "ledger";
  chunks: string[];
};

/** Must equal SERVICE_INFO_MAP of src/tables/service.ts (a test checks; client may not import tables). */
export const SERVICE_INFO_MAP = "public:coterie.gov.service.info";
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
  const v = new BrowserVerifier(options.serviceCertPem);
  const named = chunks
    .filter((c) => firstSeqnoOfChunk(c.name) !== null)
    .sort((a, b) => (a.name < b.name ? -1 : 1));
  let seqno = 0;
  let view = 1;
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
  v.report.unsignedTail = seqno - v.report.lastSignedSeqno;
  return v.report;
}

/** RFC 9162 root of a growing tree, kept as the roots of its perfect subtrees (at most 64). */
export class MerklePeaks {
  private readonly peaks: { hash: Uint8Array; leaves: number }[] = [];
  size = 0;

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

class BrowserVerifier {
  readonly tree = new MerklePeaks();
  serviceCert: X509Certificate | null;
  readonly report: LedgerVerifyReport;
  private lastSignature: Position | null = null;
  private readonly certs = new Map<
    string,
    { cert: X509Certificate; key: CryptoKey; curve: NodeKeyCurve; hash: string }
  >();

  constructor(serviceCertPem: string | undefined) {
    this.serviceCert = serviceCertPem ? new X509Certificate(serviceCertPem) : null;
    this.report = {
      entries: 0,
      signatures: 0,
      lastSignedSeqno: 0,
      unsignedTail: 0,
      serviceCertSource: this.serviceCert ? "given" : "ledger",
      chunks: [],
    };
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
    if (this.serviceCert === null) this.learnServiceCert(e, at);
    if (e.kind === ENTRY_KIND.signature) await this.signature(e, at);
    await this.tree.append(await leafHash(leaf));
    this.report.entries++;
    return e;
  }

  private learnServiceCert(e: LedgerEntry, at: Position): void {
    for (const m of publicWrites(e, at)) {
      if (m.name !== SERVICE_INFO_MAP) continue;
      for (const w of m.writes) {
        if (w.value === null) continue;
        const info = JSON.parse(new TextDecoder().decode(w.value)) as { cert?: string };
        if (typeof info.cert === "string") this.serviceCert = new X509Certificate(info.cert);
      }
    }
  }

  private async signature(e: LedgerEntry, at: Position): Promise<void> {
    let r: SignatureRecord;
    try {
      r = signatureRecordOf(decodeWriteSet(e.publicSection), e.view, e.seqno);
    } catch (err) {
      throw fail(at, (err as Error).message);
    }
    const from = (this.lastSignature?.seqno ?? 0) + 1;
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

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
