/**
 * Signature transactions: every N transactions or T ms the primary appends an entry whose public
 * write set holds one record in `public:coterie.internal.signatures` — the Merkle root over every
 * entry before it, signed by the node key (ECDSA, IEEE P1363: P-384 with SHA-384, or P-256 with
 * SHA-256, as the node certificate's key says) — and the node certificate that the service
 * identity endorsed. A transaction is committed once a signature
 * covering it is durable (on a majority, with consensus).
 */

import type { WriteSet } from "../kv/types.ts";
import { CoterieError } from "../util/errors.ts";

export const SIGNATURES_MAP = "public:coterie.internal.signatures";
export const SIGNATURE_KEY: Uint8Array = new TextEncoder().encode("signature");

/** The JSON value of a signature record (docs/ledger-format.md, "Signature transactions"). */
export type SignatureRecord = {
  view: number;
  seqno: number;
  /** Leaves covered by `root`: every entry before this one, so `seqno - 1`. */
  tree_size: number;
  root: string;
  node_id: string;
  /**
   * base64 of the P1363 signature (r ‖ s: 96 bytes for a P-384 node key, 64 for P-256) over
   * root ‖ u64le(view) ‖ u64le(seqno) (`signedRootMessage`, 48 bytes).
   */
  signature: string;
  /** PEM of the node certificate, endorsed by the service certificate. */
  cert: string;
};

export function signatureWriteSet(record: SignatureRecord): WriteSet {
  const value = new TextEncoder().encode(JSON.stringify(record));
  return [{ name: SIGNATURES_MAP, writes: [{ key: SIGNATURE_KEY, value }] }];
}

/** Extracts the signature record from a signature entry's public write set, checking its shape. */
export function signatureRecordOf(writes: WriteSet, view: number, seqno: number): SignatureRecord {
  const bad = (why: string) =>
    new CoterieError("COTERIE_ERR_LEDGER_MALFORMED", `signature entry ${view}.${seqno}: ${why}`);
  if (writes.length !== 1 || writes[0]?.name !== SIGNATURES_MAP || writes[0].writes.length !== 1) {
    throw bad(`must write exactly one record to ${SIGNATURES_MAP}`);
  }
  const value = writes[0].writes[0]?.value;
  if (!value) throw bad("signature record deleted");
  let r: SignatureRecord;
  try {
    r = JSON.parse(new TextDecoder().decode(value)) as SignatureRecord;
  } catch {
    throw bad("record is not JSON");
  }
  const hex64 = /^[0-9a-f]{64}$/;
  if (r.view !== view || r.seqno !== seqno) throw bad("record names another transaction id");
  if (r.tree_size !== seqno - 1) throw bad("tree_size must be seqno - 1");
  if (typeof r.root !== "string" || !hex64.test(r.root)) throw bad("root is not 64 hex digits");
  if (typeof r.node_id !== "string" || !hex64.test(r.node_id)) throw bad("node_id is not 64 hex digits");
  if (typeof r.signature !== "string" || typeof r.cert !== "string")
    throw bad("signature and cert are strings");
  return r;
}
