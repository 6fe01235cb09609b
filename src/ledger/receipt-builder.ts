/**
 * Builds the JSON receipt of a committed transaction (docs/receipts.md): the leaf components, the
 * RFC 9162 inclusion path annotated left/right, and the signature that covers it.
 */
import type { Receipt } from "../crypto/receipt.ts";
import { assert } from "../util/assert.ts";
import { decodeEntry, writeSetDigestOf } from "./entry.ts";
import type { Ledger } from "./ledger.ts";
import type { MerkleTree } from "./merkle-tree.ts";
import { type SignatureRecord, signatureRecordOf } from "./signature.ts";
import { decodeWriteSet } from "./write-set-codec.ts";

export type { Receipt };

/** The inclusion path of leaf `index` in the tree of `size` leaves, each sibling with its side (RFC 9162 §2.1.3.2). */
function annotatedPath(tree: MerkleTree, index: number, size: number): Receipt["proof"] {
  return tree.inclusionSteps(index, size).map((step) => {
    const hex = Buffer.from(step.hash.buffer, step.hash.byteOffset, step.hash.byteLength).toString("hex");
    return step.left ? { left: hex } : { right: hex };
  });
}

/**
 * The last signature a receipt was built from, per ledger: every transaction it covers shares it,
 * so a burst of commit answers decodes it and checks its root once. Only committed signatures get
 * here, and a committed entry never changes.
 */
const lastSignature = new WeakMap<Ledger, { seqno: number; record: SignatureRecord }>();

function committedSignature(ledger: Ledger, signatureSeqno: number): SignatureRecord {
  const cached = lastSignature.get(ledger);
  if (cached?.seqno === signatureSeqno) return cached.record;
  const sigEntry = decodeEntry(ledger.files.read(signatureSeqno));
  const record = signatureRecordOf(
    decodeWriteSet(sigEntry.publicSection),
    sigEntry.header.view,
    sigEntry.header.seqno,
  );
  const root = ledger.tree.root(signatureSeqno - 1);
  assert(root.toString("hex") === record.root, "tree root matches the signed root");
  lastSignature.set(ledger, { seqno: signatureSeqno, record });
  return record;
}

/** The parts of a transaction's leaf a receipt carries (the commit evidence in full, not its digest). */
export type LeafParts = { writeSetDigest: Uint8Array; commitEvidence: string; claimsDigest: Uint8Array };

/**
 * The receipt of transaction `view.seqno` from its leaf parts and the committed signature record
 * `sig` that covers it (`sig.seqno` > seqno): what `buildReceipt` reads from the ledger, or what
 * the primary kept in memory when it appended both (src/node/receipt-cache.ts).
 */
export function receiptOf(
  tree: MerkleTree,
  view: number,
  seqno: number,
  leaf: LeafParts,
  sig: SignatureRecord,
): Receipt {
  assert(sig.seqno > seqno, "a receipt is signed by a later signature");
  const size = sig.seqno - 1;
  return {
    transaction_id: `${view}.${seqno}`,
    leaf_components: {
      write_set_digest: Buffer.from(leaf.writeSetDigest).toString("hex"),
      commit_evidence: leaf.commitEvidence,
      claims_digest: Buffer.from(leaf.claimsDigest).toString("hex"),
    },
    proof: annotatedPath(tree, seqno - 1, size),
    signature_transaction_id: `${sig.view}.${sig.seqno}`,
    tree_size: size,
    leaf_index: seqno - 1,
    root: sig.root,
    signature: sig.signature,
    node_id: sig.node_id,
    cert: sig.cert,
  };
}

/**
 * The receipt of `seqno`, read from the ledger, given the committed signature `signatureSeqno` >
 * seqno that covers it (never a signature that could still be rolled back: its record is cached).
 */
export function buildReceipt(
  ledger: Ledger,
  seqno: number,
  signatureSeqno: number,
  commitEvidence: string,
): Receipt {
  assert(signatureSeqno > seqno, "a receipt is signed by a later signature");
  const entry = decodeEntry(ledger.files.read(seqno));
  const leaf = { writeSetDigest: writeSetDigestOf(entry), commitEvidence, claimsDigest: entry.claimsDigest };
  return receiptOf(ledger.tree, entry.header.view, seqno, leaf, committedSignature(ledger, signatureSeqno));
}
