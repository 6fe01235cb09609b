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

function hexOf(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}

/** The inclusion path of leaf `index` in the tree of `size` leaves, each sibling with its side (RFC 9162 §2.1.3.2). */
function annotatedPath(tree: MerkleTree, index: number, size: number): Receipt["proof"] {
  return tree.inclusionSteps(index, size).map((step) => {
    const hex = hexOf(step.hash);
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

/**
 * The parts of a transaction's leaf a receipt carries, as it carries them: the digests in lowercase
 * hex, the commit evidence in full (not its digest).
 */
export type LeafParts = { writeSetDigest: string; commitEvidence: string; claimsDigest: string };

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
      write_set_digest: leaf.writeSetDigest,
      commit_evidence: leaf.commitEvidence,
      claims_digest: leaf.claimsDigest,
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
 * The JSON text of a signature's part of every receipt it signs, in `Receipt`'s key order, around
 * the one per-transaction field among them (`leaf_index`). Made once per signature record.
 */
type SignatureText = { beforeLeafIndex: string; afterLeafIndex: string };

const signatureTexts = new WeakMap<SignatureRecord, SignatureText>();

function signatureTextOf(sig: SignatureRecord): SignatureText {
  let text = signatureTexts.get(sig);
  if (text === undefined) {
    const json = JSON.stringify;
    text = {
      beforeLeafIndex: `],"signature_transaction_id":${json(`${sig.view}.${sig.seqno}`)},"tree_size":${json(sig.seqno - 1)},"leaf_index":`,
      afterLeafIndex: `,"root":${json(sig.root)},"signature":${json(sig.signature)},"node_id":${json(sig.node_id)},"cert":${json(sig.cert)}`,
    };
    signatureTexts.set(sig, text);
  }
  return text;
}

/**
 * `JSON.stringify(receiptOf(...))`, with `service_endorsements` when `endorsementsJson` (a JSON
 * array) is given, written as text: the signature's part (the node certificate is a receipt's
 * largest field) is serialised once per signature record, which never changes, the path's hex comes
 * from the tree's memo (`inclusionStepsHex`), and no receipt object is made. A commit answer sends
 * one per write; test/unit/ledger/receipt-text.test.ts holds it to the object's serialisation.
 */
export function receiptTextOf(
  tree: MerkleTree,
  view: number,
  seqno: number,
  leaf: LeafParts,
  sig: SignatureRecord,
  endorsementsJson?: string,
): string {
  assert(sig.seqno > seqno, "a receipt is signed by a later signature");
  assert(Number.isSafeInteger(view) && Number.isSafeInteger(seqno), "a transaction id is two integers");
  const id = `${view}.${seqno}`;
  let text = `{"transaction_id":"${id}","leaf_components":{"write_set_digest":${JSON.stringify(leaf.writeSetDigest)},"commit_evidence":${JSON.stringify(leaf.commitEvidence)},"claims_digest":${JSON.stringify(leaf.claimsDigest)}},"proof":[`;
  const steps = tree.inclusionStepsHex(seqno - 1, sig.seqno - 1);
  for (let i = 0; i < steps.length; i++) {
    const step = steps[i] as (typeof steps)[number];
    text += `${i === 0 ? "" : ","}{"${step.left ? "left" : "right"}":"${step.hex}"}`;
  }
  const sigText = signatureTextOf(sig);
  text += `${sigText.beforeLeafIndex}${seqno - 1}${sigText.afterLeafIndex}`;
  return endorsementsJson === undefined ? `${text}}` : `${text},"service_endorsements":${endorsementsJson}}`;
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
  const leaf = {
    writeSetDigest: hexOf(writeSetDigestOf(entry)),
    commitEvidence,
    claimsDigest: hexOf(entry.claimsDigest),
  };
  return receiptOf(ledger.tree, entry.header.view, seqno, leaf, committedSignature(ledger, signatureSeqno));
}
