// The COSE form (RFC 9942, docs/receipts.md) of a real node's JSON receipt. The node does not serve
// this form yet, so it is made here the way the node would: the receipt's root signed once with the
// node's own key, read from its sealed identity (ES256 for a P-256 key, ES384 for P-384), with the
// receipt's inclusion path in the unprotected header.
import { join } from "node:path";
import { COSE_ALG, cryptoKeySigner } from "../../src/crypto/cose.ts";
import { encodeCoseReceipt, signCoseRoot } from "../../src/crypto/cose-receipt.ts";
import { curveOf } from "../../src/crypto/keys.ts";
import type { Receipt } from "../../src/crypto/receipt.ts";
import { validateConfig } from "../../src/node/config.ts";
import { type Identity, loadIdentity } from "../../src/node/identity.ts";
import { platformFor } from "../../src/node/node.ts";

/** The sealed identity of the node whose data directory is `dataDir`. */
export function sealedIdentity(dataDir: string): Promise<Identity> {
  const config = validateConfig({ dataDir });
  return loadIdentity(join(dataDir, "sealed"), platformFor(config));
}

export async function coseReceiptOf(receipt: Receipt, identity: Identity): Promise<Uint8Array> {
  const curve = curveOf(identity.node.privateKey);
  const key = identity.node.privateKey.toCryptoKey({ name: "ECDSA", namedCurve: curve }, false, [
    "sign",
  ]) as CryptoKey;
  const alg = curve === "P-256" ? COSE_ALG.ES256 : COSE_ALG.ES384;
  const signer = cryptoKeySigner(key, Buffer.from(receipt.node_id, "hex"), alg);
  const signedRoot = await signCoseRoot(signer, Buffer.from(receipt.root, "hex"), receipt.tree_size);
  const path = receipt.proof.map((s) => Buffer.from("left" in s ? s.left : s.right, "hex"));
  return encodeCoseReceipt(signedRoot, { treeSize: receipt.tree_size, leafIndex: receipt.leaf_index, path });
}
