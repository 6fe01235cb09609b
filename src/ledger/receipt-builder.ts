/**
 * Builds the JSON receipt of a committed transaction (docs/receipts.md): the leaf components, the
 * RFC 9162 inclusion path annotated left/right, and the signature that covers it.
 */
import { assert } from "../util/assert.ts";
import { decodeEntry, writeSetDigestOf } from "./entry.ts";
import type { Ledger } from "./ledger.ts";
import { signatureRecordOf } from "./signature.ts";
import { decodeWriteSet } from "./write-set-codec.ts";

export type ProofStep = { left: string } | { right: string };

export type Receipt = {
  transaction_id: string;
  leaf_components: { write_set_digest: string; commit_evidence: string; claims_digest: string };
  proof: ProofStep[];
  signature_transaction_id: string;
  tree_size: number;
  leaf_index: number;
  root: string;
  signature: string;
  node_id: string;
  cert: string;
  service_endorsements?: string[];
};

/**
 * Annotates an RFC 9162 inclusion path (siblings from the leaf upward) with the side each sibling
 * is on, following the verification algorithm of RFC 9162 §2.1.3.2.
 */
export function annotateProof(path: readonly Uint8Array[], index: number, size: number): ProofStep[] {
  let fn = index;
  let sn = size - 1;
  const steps: ProofStep[] = [];
  for (const p of path) {
    assert(sn !== 0, "inclusion path is not longer than the tree is deep");
    const hex = Buffer.from(p).toString("hex");
    if (fn % 2 === 1 || fn === sn) {
      steps.push({ left: hex });
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else steps.push({ right: hex });
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  assert(sn === 0, "inclusion path reaches the root");
  return steps;
}

/** The receipt of `seqno`, given the committed signature `signatureSeqno` > seqno that covers it. */
export function buildReceipt(
  ledger: Ledger,
  seqno: number,
  signatureSeqno: number,
  commitEvidence: string,
): Receipt {
  assert(signatureSeqno > seqno, "a receipt is signed by a later signature");
  const entry = decodeEntry(ledger.files.read(seqno));
  const sigEntry = decodeEntry(ledger.files.read(signatureSeqno));
  const sig = signatureRecordOf(
    decodeWriteSet(sigEntry.publicSection),
    sigEntry.header.view,
    sigEntry.header.seqno,
  );
  const size = signatureSeqno - 1;
  const root = ledger.tree.root(size);
  assert(root.toString("hex") === sig.root, "tree root matches the signed root");
  return {
    transaction_id: `${entry.header.view}.${seqno}`,
    leaf_components: {
      write_set_digest: Buffer.from(writeSetDigestOf(entry)).toString("hex"),
      commit_evidence: commitEvidence,
      claims_digest: entry.claimsDigest.toString("hex"),
    },
    proof: annotateProof(ledger.tree.inclusionProof(seqno - 1, size), seqno - 1, size),
    signature_transaction_id: `${sig.view}.${sig.seqno}`,
    tree_size: size,
    leaf_index: seqno - 1,
    root: sig.root,
    signature: sig.signature,
    node_id: sig.node_id,
    cert: sig.cert,
  };
}
