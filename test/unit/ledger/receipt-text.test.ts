// `receiptTextOf` writes a receipt as JSON text without building it (the commit answer's path): it
// must be exactly `JSON.stringify(receiptOf(...))` for every leaf and tree size, with and without
// service endorsements, and keep each signature's text apart when answers of two signatures
// interleave.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import { MerkleTree } from "../../../src/ledger/merkle-tree.ts";
import { type LeafParts, receiptOf, receiptTextOf } from "../../../src/ledger/receipt-builder.ts";
import type { SignatureRecord } from "../../../src/ledger/signature.ts";

const digestOf = (s: string) => createHash("sha256").update(s).digest();

function signatureAt(seqno: number, tree: MerkleTree): SignatureRecord {
  return {
    view: 3,
    seqno,
    tree_size: seqno - 1,
    root: tree.root(seqno - 1).toString("hex"),
    node_id: digestOf(`node ${seqno}`).toString("hex"),
    signature: digestOf(`signature ${seqno}`).toString("base64"),
    // Newlines and a quote: the certificate is the part that needs escaping.
    cert: `-----BEGIN CERTIFICATE-----\nMIIB"${seqno}\n-----END CERTIFICATE-----\n`,
  };
}

const leafOf = (seqno: number): LeafParts => ({
  writeSetDigest: digestOf(`ws ${seqno}`).toString("hex"),
  commitEvidence: `ce:3.${seqno}:${digestOf(`ce ${seqno}`).toString("hex")}`,
  claimsDigest: Buffer.alloc(32, seqno % 256).toString("hex"),
});

test("receipt text equals the receipt object's JSON for every leaf of several tree sizes", () => {
  const tree = new MerkleTree();
  for (let i = 0; i < 300; i++) tree.append(digestOf(`leaf ${i}`));
  const endorsements = JSON.stringify(["-----BEGIN CERTIFICATE-----\nE1\n-----END CERTIFICATE-----\n"]);
  for (const size of [1, 2, 3, 7, 8, 64, 100, 255, 299]) {
    const sig = signatureAt(size + 1, tree);
    for (let seqno = 1; seqno <= size; seqno++) {
      const leaf = leafOf(seqno);
      const object = receiptOf(tree, 3, seqno, leaf, sig);
      assert.equal(receiptTextOf(tree, 3, seqno, leaf, sig), JSON.stringify(object), `${seqno} in ${size}`);
      assert.equal(
        receiptTextOf(tree, 3, seqno, leaf, sig, endorsements),
        JSON.stringify({ ...object, service_endorsements: JSON.parse(endorsements) }),
      );
    }
  }
});

test("answers of two signatures interleaved keep their own signature's text", () => {
  const tree = new MerkleTree();
  for (let i = 0; i < 40; i++) tree.append(digestOf(`leaf ${i}`));
  const older = signatureAt(20, tree);
  const newer = signatureAt(40, tree);
  for (let seqno = 1; seqno < 20; seqno++) {
    for (const sig of [older, newer, older]) {
      const text = receiptTextOf(tree, 3, seqno, leafOf(seqno), sig);
      assert.equal(text, JSON.stringify(receiptOf(tree, 3, seqno, leafOf(seqno), sig)));
      assert.equal(JSON.parse(text).signature_transaction_id, `3.${sig.seqno}`);
    }
  }
});
