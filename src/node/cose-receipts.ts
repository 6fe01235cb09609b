/**
 * COSE receipts (RFC 9942; docs/receipts.md, "COSE form") served by `GET /app/receipt?format=cose`.
 *
 * The signature transaction in the ledger carries the root signed in the JSON form's message
 * (`signedRootMessage`), not a COSE_Sign1. So the node that answers signs the committed root of
 * the receipt's tree size itself, as a COSE_Sign1 with its own key and node id, once per root
 * (cached), and adds the leaf's inclusion proof in the unprotected header. It states what the
 * signature transaction stated, that this root of this size is committed in the service's
 * ledger, and its certificate is endorsed by the current service identity, so the receipt verifies
 * against the current service certificate (also for transactions from before a disaster recovery).
 * Only committed roots are ever signed: the JSON receipt it is made from exists only for a committed
 * transaction, and its root is the one the covering signature transaction signed.
 */
import { COSE_ALG, type CoseSigner } from "../crypto/cose.ts";
import { encodeCoseReceipt, type ServedCoseReceipt, signCoseRoot } from "../crypto/cose-receipt.ts";
import { curveOf, signP1363Async } from "../crypto/keys.ts";
import type { Receipt } from "../crypto/receipt.ts";
import type { Identity } from "./identity.ts";

/** Signed roots kept (one per signature transaction asked about); the first signed is dropped first. */
export const COSE_SIGNED_ROOTS_MAX = 256;

export class CoseReceipts {
  private readonly identity: () => Identity;
  private readonly signedRootsMax: number;
  /**
   * `${tree size}:${root}:${node id}` → the COSE_Sign1 of that root by this node (a promise while
   * signing), in the order they were signed: the first is dropped once there are too many.
   */
  private readonly signedRoots = new Map<string, Promise<Uint8Array>>();

  constructor(identity: () => Identity, signedRootsMax: number = COSE_SIGNED_ROOTS_MAX) {
    this.identity = identity;
    this.signedRootsMax = signedRootsMax;
  }

  /** The COSE form of `receipt`, a JSON receipt this node made for a committed transaction. */
  async answer(receipt: Receipt): Promise<ServedCoseReceipt> {
    const identity = this.identity();
    const signedRoot = await this.signedRoot(identity, receipt.root, receipt.tree_size);
    const path = receipt.proof.map((step) => Buffer.from("left" in step ? step.left : step.right, "hex"));
    const cose = encodeCoseReceipt(signedRoot, {
      treeSize: receipt.tree_size,
      leafIndex: receipt.leaf_index,
      path,
    });
    return {
      transaction_id: receipt.transaction_id,
      cose_receipt: Buffer.from(cose).toString("base64"),
      leaf_components: receipt.leaf_components,
      cert: identity.nodeCert,
    };
  }

  private signedRoot(identity: Identity, rootHex: string, treeSize: number): Promise<Uint8Array> {
    const key = `${treeSize}:${rootHex}:${identity.nodeId}`;
    const held = this.signedRoots.get(key);
    if (held !== undefined) return held;
    const signing = signCoseRoot(nodeSigner(identity), Buffer.from(rootHex, "hex"), treeSize);
    this.signedRoots.set(key, signing);
    // A failed signature is not kept: the next request signs again.
    signing.catch(() => {
      if (this.signedRoots.get(key) === signing) this.signedRoots.delete(key);
    });
    if (this.signedRoots.size > this.signedRootsMax) {
      const oldest = this.signedRoots.keys().next().value as string;
      this.signedRoots.delete(oldest);
    }
    return signing;
  }
}

/** The node key as a COSE signer: ES256 for a P-256 key, ES384 for P-384; kid = the node id. */
function nodeSigner(identity: Identity): CoseSigner {
  const privateKey = identity.node.privateKey;
  return {
    alg: curveOf(privateKey) === "P-256" ? COSE_ALG.ES256 : COSE_ALG.ES384,
    kid: Buffer.from(identity.nodeId, "hex"),
    sign: (toBeSigned) => signP1363Async(privateKey, toBeSigned),
  };
}
