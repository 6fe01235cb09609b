// Builds real receipts for tests: a P-384 service identity (self-signed CA), node certificates it
// endorses (node keys on P-384 by default, or P-256 / P-521), a ledger-sized Merkle tree, and the
// root signed by the node key with its curve's hash — the same steps a node takes, written
// independently of src/crypto/receipt.ts so the verifier is checked, not echoed.
import { createHash } from "node:crypto";
import * as x509 from "@peculiar/x509";
import { inclusionProofSides } from "../../../src/crypto/merkle.ts";
import { type Receipt, signedRootMessage } from "../../../src/crypto/receipt.ts";
import { leafHashSync, MerkleTree } from "../../../src/ledger/merkle-tree.ts";

const subtle = globalThis.crypto.subtle;
const P384 = { name: "ECDSA", namedCurve: "P-384" } as const;
const SIGN = { name: "ECDSA", hash: "SHA-384" } as const;
const DAY_MS = 86_400_000;

export type Identity = { keys: CryptoKeyPair; cert: x509.X509Certificate; pem: string };

export async function makeServiceIdentity(name = "CN=coterie service"): Promise<Identity> {
  const keys = (await subtle.generateKey(P384, true, ["sign", "verify"])) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      name,
      keys,
      signingAlgorithm: SIGN,
      notBefore: new Date(Date.now() - DAY_MS),
      notAfter: new Date(Date.now() + 365 * DAY_MS),
      extensions: [new x509.BasicConstraintsExtension(true, 0, true)],
    },
    globalThis.crypto,
  );
  return { keys, cert, pem: cert.toString("pem") };
}

export type NodeCurve = "P-256" | "P-384" | "P-521";
export type NodeCertOptions = { notBefore?: Date; notAfter?: Date; keys?: CryptoKeyPair; curve?: NodeCurve };

/** The ECDSA parameters a node key on `curve` signs with: the curve's own SHA-2. */
export const nodeSigning = (curve: NodeCurve) =>
  ({ name: "ECDSA", hash: { "P-256": "SHA-256", "P-384": "SHA-384", "P-521": "SHA-512" }[curve] }) as const;

/** A node certificate endorsed (signed) by `service`; its key on `options.curve` (P-384). */
export async function makeNodeIdentity(service: Identity, options: NodeCertOptions = {}): Promise<Identity> {
  const curve = { name: "ECDSA", namedCurve: options.curve ?? "P-384" };
  const keys = options.keys ?? ((await subtle.generateKey(curve, true, ["sign", "verify"])) as CryptoKeyPair);
  const cert = await x509.X509CertificateGenerator.create(
    {
      subject: "CN=coterie node",
      issuer: service.cert.subject,
      publicKey: keys.publicKey,
      signingKey: service.keys.privateKey,
      signingAlgorithm: SIGN,
      notBefore: options.notBefore ?? new Date(Date.now() - DAY_MS),
      notAfter: options.notAfter ?? new Date(Date.now() + 30 * DAY_MS),
    },
    globalThis.crypto,
  );
  return { keys, cert, pem: cert.toString("pem") };
}

/** How `node` signs roots: ECDSA with its key's curve's hash. */
function signingOf(node: Identity) {
  return nodeSigning((node.keys.privateKey.algorithm as EcKeyAlgorithm).namedCurve as NodeCurve);
}

export const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");
const sha256 = (b: Uint8Array): Buffer => createHash("sha256").update(b).digest();

export type ReceiptParams = { view: number; seqno: number; signatureView: number; signatureSeqno: number };

/**
 * A receipt for transaction `view.seqno` whose root is signed in `signatureView.signatureSeqno`;
 * every other leaf of the tree is a synthetic transaction.
 */
export async function makeReceipt(
  node: Identity,
  params: ReceiptParams = { view: 2, seqno: 15, signatureView: 2, signatureSeqno: 20 },
): Promise<Receipt> {
  const { view, seqno, signatureView, signatureSeqno } = params;
  const txid = `${view}.${seqno}`;
  const leafComponents = {
    write_set_digest: hex(sha256(Buffer.from(`write set of ${txid}`))),
    commit_evidence: `ce:${txid}:${hex(sha256(Buffer.from(`nonce of ${txid}`)))}`,
    claims_digest: "00".repeat(32),
  };
  const tree = new MerkleTree();
  for (let s = 1; s < signatureSeqno; s++) {
    if (s === seqno) {
      const data = Buffer.concat([
        Buffer.from(leafComponents.write_set_digest, "hex"),
        sha256(Buffer.from(leafComponents.commit_evidence)),
        Buffer.from(leafComponents.claims_digest, "hex"),
      ]);
      tree.append(leafHashSync(data));
    } else {
      tree.append(leafHashSync(Buffer.from(`other transaction ${s}`)));
    }
  }
  const treeSize = signatureSeqno - 1;
  const root = tree.root(treeSize);
  const sides = inclusionProofSides(seqno - 1, treeSize);
  const proof = tree
    .inclusionProof(seqno - 1, treeSize)
    .map((h, i) => ({ [sides[i]!]: hex(h) })) as Receipt["proof"];
  const signed = signedRootMessage(root, signatureView, signatureSeqno) as Uint8Array<ArrayBuffer>;
  const signature = new Uint8Array(await subtle.sign(signingOf(node), node.keys.privateKey, signed));
  return {
    transaction_id: txid,
    leaf_components: leafComponents,
    proof,
    signature_transaction_id: `${signatureView}.${signatureSeqno}`,
    tree_size: treeSize,
    leaf_index: seqno - 1,
    root: hex(root),
    signature: Buffer.from(signature).toString("base64"),
    node_id: hex(sha256(new Uint8Array(node.cert.rawData))),
    cert: node.pem,
    service_endorsements: [],
  };
}

/** Re-signs `receipt.root` with `node`'s key and swaps in its certificate and id. */
export async function resignWith(receipt: Receipt, node: Identity): Promise<Receipt> {
  const root = Buffer.from(receipt.root, "hex");
  const [view, seqno] = receipt.signature_transaction_id.split(".").map(Number) as [number, number];
  const signed = signedRootMessage(root, view, seqno) as Uint8Array<ArrayBuffer>;
  const signature = new Uint8Array(await subtle.sign(signingOf(node), node.keys.privateKey, signed));
  return {
    ...receipt,
    signature: Buffer.from(signature).toString("base64"),
    node_id: hex(sha256(new Uint8Array(node.cert.rawData))),
    cert: node.pem,
  };
}
