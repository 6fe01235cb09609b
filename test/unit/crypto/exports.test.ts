// The public export list of the verification crypto, snapshotted so API changes are deliberate:
// the node, the CLI and the browser SDK all import these names.
import assert from "node:assert/strict";
import { test } from "node:test";
import * as cose from "../../../src/crypto/cose.ts";
import * as coseReceipt from "../../../src/crypto/cose-receipt.ts";
import * as merkle from "../../../src/crypto/merkle.ts";
import * as receipt from "../../../src/crypto/receipt.ts";
import * as shamir from "../../../src/crypto/shamir.ts";
import * as merkleTree from "../../../src/ledger/merkle-tree.ts";

const expected: Record<string, [object, string[]]> = {
  "crypto/cose.ts": [
    cose,
    [
      "COSE_ALG",
      "COSE_DECODE_LIMITS_DEFAULT",
      "COSE_HEADER",
      "COSE_SIGN1_TAG",
      "cryptoKeySigner",
      "decodeCborStrict",
      "decodeCoseSign1",
      "encodeCborValue",
      "encodeCoseSign1",
      "sigStructure",
      "signCoseSign1",
      "verifyCoseSign1",
    ],
  ],
  "crypto/cose-receipt.ts": [
    coseReceipt,
    [
      "COSE_RECEIPT_HEADER",
      "COSE_RECEIPT_TREE_SIZE_LABEL",
      "VDP_INCLUSION_PROOFS",
      "VDS_RFC9162_SHA256",
      "encodeCoseReceipt",
      "signCoseRoot",
      "verifyCoseReceipt",
      "verifyServedCoseReceipt",
    ],
  ],
  "crypto/merkle.ts": [
    merkle,
    [
      "HASH_BYTES",
      "PROOF_HASHES_MAX",
      "bytesEqual",
      "emptyTreeRoot",
      "fromHex",
      "inclusionProofSides",
      "leafHash",
      "nodeHash",
      "rootFromInclusionProof",
      "rootFromLeafHashes",
      "sha256",
      "toHex",
      "verifyConsistencyProof",
      "verifyInclusionProof",
    ],
  ],
  "crypto/receipt.ts": [
    receipt,
    [
      "NODE_KEY_SIGNATURES",
      "RECEIPT_CERT_PEM_BYTES_MAX",
      "checkLeafComponents",
      "checkReceiptShape",
      "commitEvidenceTxid",
      "isNodeKeyCurve",
      "leafDataOf",
      "nodeSignatureBytes",
      "signedRootMessage",
      "verifyNodeCertificate",
      "verifyReceipt",
    ],
  ],
  "crypto/shamir.ts": [shamir, ["SECRET_BYTES_MAX", "SHARES_MAX", "combineShares", "splitSecret"]],
  "ledger/merkle-tree.ts": [
    merkleTree,
    [
      "HASH_BYTES",
      "LEAVES_MAX_DEFAULT",
      "MerkleTree",
      "PRE_FRONTIER_MESSAGE",
      "leafHashSync",
      "nodeHashSync",
    ],
  ],
};

test("the public export lists are the reviewed ones", () => {
  for (const [file, [mod, names]] of Object.entries(expected)) {
    assert.deepEqual(Object.keys(mod).sort(), [...names].sort(), `exports of src/${file}`);
  }
});
