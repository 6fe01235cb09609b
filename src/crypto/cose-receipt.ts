/**
 * COSE form of a receipt: a COSE Receipt (RFC 9942, formerly draft-ietf-cose-merkle-tree-proofs)
 * for the RFC9162_SHA256 verifiable data structure, browser-safe. docs/receipts.md ("COSE form")
 * is the normative description.
 *
 * A node signs each Merkle root once, as a COSE_Sign1 with a detached payload (the root) and
 * protected `vds` = RFC9162_SHA256 (`signCoseRoot`). A receipt for one leaf is that same message
 * with the leaf's inclusion proof added to the unprotected `vdp` header (`encodeCoseReceipt`):
 * unprotected headers are not signed, so the signature made once serves every leaf under the root.
 * The verifier recomputes the root from the leaf and the proof and checks the signature over it.
 */

import { CoterieError, isCoterieError } from "../util/errors.ts";
import {
  COSE_DECODE_LIMITS_DEFAULT,
  type CoseLabel,
  type CoseSigner,
  type CoseValue,
  decodeCborStrict,
  decodeCoseSign1,
  encodeCborValue,
  encodeCoseSign1,
  signCoseSign1,
  verifyCoseSign1,
} from "./cose.ts";
import { HASH_BYTES, leafHash, PROOF_HASHES_MAX, rootFromInclusionProof, toHex } from "./merkle.ts";
import {
  checkLeafComponents,
  commitEvidenceTxid,
  leafDataOf,
  type Receipt,
  type VerifiedReceipt,
  type VerifyReceiptOptions,
  verifyNodeCertificate,
} from "./receipt.ts";

/** COSE header labels registered by RFC 9942. */
export const COSE_RECEIPT_HEADER = { vds: 395, vdp: 396 } as const;
/** The verifiable data structure "RFC9162_SHA256" (RFC 9942 §5). */
export const VDS_RFC9162_SHA256 = 1;
/** Key of the inclusion proofs inside the `vdp` map. */
export const VDP_INCLUSION_PROOFS = -1;
/**
 * Protected header binding the tree size to the signature. RFC 9942 carries the tree size only in
 * the unprotected proof, and for many (leaf, size) pairs the RFC 9162 path has the same shape, so
 * without this a receipt's tree size could be changed undetected.
 */
export const COSE_RECEIPT_TREE_SIZE_LABEL = "coterie.tree_size";

/** One RFC 9162 inclusion proof: sibling hashes leaf upward, sides implied by the path shape. */
export type InclusionProof = { treeSize: number; leafIndex: number; path: readonly Uint8Array[] };

export type VerifiedCoseReceipt = VerifiedReceipt & { treeSize: number; leafIndex: number };

/**
 * Signs the root of a tree of `treeSize` leaves as RFC 9942 expects: COSE_Sign1 with detached
 * payload = root, protected alg, kid (the signer's; for a node, the node id bytes), vds =
 * RFC9162_SHA256, and `coterie.tree_size`.
 */
export async function signCoseRoot(
  signer: CoseSigner,
  root: Uint8Array,
  treeSize: number,
  protectedHeaders: ReadonlyMap<CoseLabel, CoseValue> = new Map(),
): Promise<Uint8Array> {
  if (!(root instanceof Uint8Array) || root.length !== HASH_BYTES) throw new RangeError("a root is 32 bytes");
  if (!Number.isSafeInteger(treeSize) || treeSize < 1)
    throw new RangeError("a signed tree has at least one leaf");
  const headers = new Map<CoseLabel, CoseValue>([
    [COSE_RECEIPT_HEADER.vds, VDS_RFC9162_SHA256],
    [COSE_RECEIPT_TREE_SIZE_LABEL, treeSize],
    ...protectedHeaders,
  ]);
  return signCoseSign1(signer, root, headers, {}, { detached: true });
}

/** The COSE receipt of one leaf: `signedRoot` with the leaf's inclusion proof in unprotected `vdp`. */
export function encodeCoseReceipt(signedRoot: Uint8Array, proof: InclusionProof): Uint8Array {
  const decoded = decodeCoseSign1(signedRoot);
  if (
    decoded.protectedHeaders.get(COSE_RECEIPT_HEADER.vds) !== VDS_RFC9162_SHA256 ||
    decoded.payload !== null
  ) {
    throw new TypeError("signedRoot must come from signCoseRoot (vds RFC9162_SHA256, detached root)");
  }
  const { treeSize, leafIndex, path } = proof;
  if (
    !Number.isSafeInteger(leafIndex) ||
    leafIndex < 0 ||
    !Number.isSafeInteger(treeSize) ||
    leafIndex >= treeSize
  ) {
    throw new RangeError(`leaf ${leafIndex} is not in a tree of ${treeSize}`);
  }
  if (decoded.protectedHeaders.get(COSE_RECEIPT_TREE_SIZE_LABEL) !== treeSize) {
    throw new RangeError(`the root was signed for another tree size than ${treeSize}`);
  }
  const proofBytes = encodeCborValue([treeSize, leafIndex, path.map((h) => new Uint8Array(h))]);
  const unprotectedHeaders = new Map(decoded.unprotectedHeaders);
  unprotectedHeaders.set(COSE_RECEIPT_HEADER.vdp, new Map([[VDP_INCLUSION_PROOFS, [proofBytes]]]));
  return encodeCoseSign1({ ...decoded, unprotectedHeaders });
}

/**
 * Verifies a COSE receipt for the leaf with `leafComponents` (as in the JSON form), signed under
 * `nodeCertPem`, which the pinned service certificate must endorse. A changed leaf or proof yields
 * another root, so it fails as COTERIE_ERR_RECEIPT_BAD_SIGNATURE (the root itself is not sent).
 * @throws CoterieError COTERIE_ERR_COSE_MALFORMED | _UNSUPPORTED_ALG, COTERIE_ERR_RECEIPT_MALFORMED |
 *   _EVIDENCE_MISMATCH | _BAD_PROOF | _NODE_ID_MISMATCH | _CERT_NOT_ENDORSED | _CERT_EXPIRED | _BAD_SIGNATURE
 */
export async function verifyCoseReceipt(
  receipt: Uint8Array,
  leafComponents: Receipt["leaf_components"],
  nodeCertPem: string,
  serviceCertPem: string,
  options: VerifyReceiptOptions = {},
): Promise<VerifiedCoseReceipt> {
  const decoded = decodeCoseSign1(receipt);
  if (decoded.protectedHeaders.get(COSE_RECEIPT_HEADER.vds) !== VDS_RFC9162_SHA256) {
    malformed("protected vds must be RFC9162_SHA256 (1)");
  }
  if (decoded.payload !== null) malformed("the root must be detached");
  if (decoded.kid === null || decoded.kid.length !== HASH_BYTES) malformed("kid must be the 32-byte node id");
  const proof = inclusionProofOf(decoded.unprotectedHeaders.get(COSE_RECEIPT_HEADER.vdp));
  const signedTreeSize = decoded.protectedHeaders.get(COSE_RECEIPT_TREE_SIZE_LABEL);
  if (!Number.isSafeInteger(signedTreeSize))
    malformed(`protected ${COSE_RECEIPT_TREE_SIZE_LABEL} is missing`);
  if (signedTreeSize !== proof.treeSize) {
    throw new CoterieError(
      "COTERIE_ERR_RECEIPT_BAD_PROOF",
      "the proof's tree size is not the signed tree size",
    );
  }
  const lc = checkLeafComponents(leafComponents);
  const evidence = commitEvidenceTxid(lc.commit_evidence);
  if (evidence.seqno !== proof.leafIndex + 1) {
    throw new CoterieError(
      "COTERIE_ERR_RECEIPT_EVIDENCE_MISMATCH",
      "leaf index must be the evidence's seqno - 1",
    );
  }
  const leaf = await leafHash(await leafDataOf(lc));
  const root = await rootFromInclusionProof(leaf, proof.leafIndex, proof.treeSize, proof.path);
  if (root === null) throw new CoterieError("COTERIE_ERR_RECEIPT_BAD_PROOF", "the proof has the wrong shape");
  const node = await verifyNodeCertificate(nodeCertPem, serviceCertPem, toHex(decoded.kid), options);
  try {
    await verifyCoseSign1(decoded, node.publicKey, { detachedPayload: root });
  } catch (e) {
    if (isCoterieError(e) && e.code === "COTERIE_ERR_COSE_BAD_SIGNATURE") {
      throw new CoterieError("COTERIE_ERR_RECEIPT_BAD_SIGNATURE", "the root signature does not verify", {
        cause: e,
      });
    }
    throw e;
  }
  return {
    transactionId: evidence.txid,
    root: toHex(root),
    nodeId: node.nodeId,
    claimsDigest: lc.claims_digest,
    treeSize: proof.treeSize,
    leafIndex: proof.leafIndex,
  };
}

/**
 * What a node answers to `GET /app/receipt?transaction_id=…&format=cose` (docs/receipts.md, "COSE
 * form"): the COSE receipt and what travels beside it, the leaf components and the certificate of
 * the node that signed it.
 */
export type ServedCoseReceipt = {
  transaction_id: string;
  /** base64 of the tagged COSE_Sign1. */
  cose_receipt: string;
  leaf_components: Receipt["leaf_components"];
  /** PEM of the signing node's certificate; its node id is the `kid`. */
  cert: string;
};

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
/** Longest `cose_receipt` text accepted: base64 of the largest message `decodeCoseSign1` takes. */
const SERVED_COSE_BASE64_MAX = Math.ceil(COSE_DECODE_LIMITS_DEFAULT.messageBytesMax / 3) * 4;

/**
 * Verifies a node's COSE receipt answer (`ServedCoseReceipt`, parsed JSON) against the pinned
 * service certificate, as `verifyCoseReceipt`; its `transaction_id` must be the one the commit
 * evidence names (COTERIE_ERR_RECEIPT_EVIDENCE_MISMATCH).
 * @throws CoterieError as `verifyCoseReceipt`, and COTERIE_ERR_RECEIPT_MALFORMED for a bad shape
 */
export async function verifyServedCoseReceipt(
  answer: unknown,
  serviceCertPem: string,
  options: VerifyReceiptOptions = {},
): Promise<VerifiedCoseReceipt> {
  if (typeof answer !== "object" || answer === null || Array.isArray(answer))
    malformed("a COSE receipt answer is an object");
  const a = answer as Record<string, unknown>;
  if (typeof a.transaction_id !== "string") malformed("transaction_id must be a string");
  if (
    typeof a.cose_receipt !== "string" ||
    a.cose_receipt.length > SERVED_COSE_BASE64_MAX ||
    !BASE64.test(a.cose_receipt)
  ) {
    malformed("cose_receipt must be base64 of a COSE_Sign1");
  }
  if (typeof a.cert !== "string") malformed("cert must be a PEM string");
  const bytes = Uint8Array.from(atob(a.cose_receipt), (c) => c.charCodeAt(0));
  const verified = await verifyCoseReceipt(
    bytes,
    a.leaf_components as Receipt["leaf_components"],
    a.cert,
    serviceCertPem,
    options,
  );
  if (verified.transactionId !== a.transaction_id) {
    throw new CoterieError(
      "COTERIE_ERR_RECEIPT_EVIDENCE_MISMATCH",
      "transaction_id is not the transaction the commit evidence names",
    );
  }
  return verified;
}

/** vdp = { -1: [ bstr .cbor [tree_size, leaf_index, [* bstr]] ] }, exactly one proof. */
function inclusionProofOf(vdp: CoseValue | undefined): InclusionProof {
  if (!(vdp instanceof Map) || vdp.size !== 1)
    malformed("unprotected vdp must be a map holding only inclusion proofs");
  const proofs = vdp.get(VDP_INCLUSION_PROOFS);
  if (!Array.isArray(proofs) || proofs.length !== 1 || !(proofs[0] instanceof Uint8Array)) {
    malformed("vdp must hold exactly one inclusion proof (a byte string)");
  }
  const decoded = decodeCborStrict(proofs[0] as Uint8Array);
  if (!Array.isArray(decoded) || decoded.length !== 3)
    malformed("an inclusion proof is [tree_size, leaf_index, path]");
  const [treeSize, leafIndex, path] = decoded as unknown[];
  if (!Number.isSafeInteger(treeSize) || !Number.isSafeInteger(leafIndex) || (leafIndex as number) < 0) {
    malformed("tree_size and leaf_index must be unsigned integers");
  }
  if (!Array.isArray(path) || path.length > PROOF_HASHES_MAX)
    malformed("the inclusion path must be an array");
  for (const h of path)
    if (!(h instanceof Uint8Array) || h.length !== HASH_BYTES) malformed("path hashes are 32 bytes");
  return { treeSize: treeSize as number, leafIndex: leafIndex as number, path: path as Uint8Array[] };
}

function malformed(message: string): never {
  throw new CoterieError("COTERIE_ERR_RECEIPT_MALFORMED", message);
}
