// COSE receipts (RFC 9942, RFC9162_SHA256): one signed root serves every leaf under it, and each
// tampered part fails with its code.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { before, describe, test } from "node:test";
import {
  type CoseSigner,
  cryptoKeySigner,
  decodeCoseSign1,
  encodeCborValue,
  encodeCoseSign1,
  signCoseSign1,
} from "../../../src/crypto/cose.ts";
import {
  COSE_RECEIPT_HEADER,
  encodeCoseReceipt,
  signCoseRoot,
  VDP_INCLUSION_PROOFS,
  verifyCoseReceipt,
} from "../../../src/crypto/cose-receipt.ts";
import type { Receipt } from "../../../src/crypto/receipt.ts";
import { leafHashSync, MerkleTree } from "../../../src/ledger/merkle-tree.ts";
import { CoterieError, type ErrorCode } from "../../../src/util/errors.ts";
import { hex, type Identity, makeNodeIdentity, makeServiceIdentity } from "./receipt-fixture.ts";

const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest();
const SIZE = 13;

let service: Identity;
let node: Identity;
let signer: CoseSigner;
let tree: MerkleTree;
let signedRoot: Uint8Array;
const components: Receipt["leaf_components"][] = [];

function componentsFor(view: number, seqno: number): Receipt["leaf_components"] {
  return {
    write_set_digest: hex(sha256(Buffer.from(`ws ${seqno}`))),
    commit_evidence: `ce:${view}.${seqno}:${hex(sha256(Buffer.from(`nonce ${seqno}`)))}`,
    claims_digest: seqno % 3 === 0 ? hex(sha256(Buffer.from(`claims ${seqno}`))) : "00".repeat(32),
  };
}

function leafOf(c: Receipt["leaf_components"]): Buffer {
  const d = Buffer.concat([
    Buffer.from(c.write_set_digest, "hex"),
    sha256(Buffer.from(c.commit_evidence)),
    Buffer.from(c.claims_digest, "hex"),
  ]);
  return leafHashSync(d);
}

before(async () => {
  service = await makeServiceIdentity();
  node = await makeNodeIdentity(service);
  signer = cryptoKeySigner(node.keys.privateKey, sha256(new Uint8Array(node.cert.rawData)), -35);
  tree = new MerkleTree();
  for (let seqno = 1; seqno <= SIZE; seqno++) {
    components.push(componentsFor(seqno < 6 ? 1 : 2, seqno));
    tree.append(leafOf(components[seqno - 1]!));
  }
  signedRoot = await signCoseRoot(signer, tree.root(), SIZE);
});

const receiptFor = (index: number) =>
  encodeCoseReceipt(signedRoot, { treeSize: SIZE, leafIndex: index, path: tree.inclusionProof(index) });

async function expectCode(p: Promise<unknown>, expected: ErrorCode): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof CoterieError, String(e));
    assert.equal(e.code, expected, e.message);
    return true;
  });
}

describe("RFC 9942 COSE receipts with RFC9162_SHA256", () => {
  test("one signed root, a receipt for every leaf, each verifies", async () => {
    for (let i = 0; i < SIZE; i++) {
      const v = await verifyCoseReceipt(receiptFor(i), components[i]!, node.pem, service.pem);
      assert.equal(v.transactionId, `${i + 1 < 6 ? 1 : 2}.${i + 1}`);
      assert.equal(v.root, hex(tree.root()));
      assert.equal(v.treeSize, SIZE);
      assert.equal(v.leafIndex, i);
      assert.equal(v.claimsDigest, components[i]!.claims_digest);
    }
  });

  test("headers follow the RFC: protected alg, kid, vds = 1; unprotected vdp {-1: [bstr]}; nil payload", () => {
    const d = decodeCoseSign1(receiptFor(4));
    assert.equal(d.alg, -35);
    assert.equal(d.protectedHeaders.get(COSE_RECEIPT_HEADER.vds), 1);
    assert.equal(d.payload, null);
    const vdp = d.unprotectedHeaders.get(COSE_RECEIPT_HEADER.vdp) as Map<number, Uint8Array[]>;
    assert.equal(vdp.get(VDP_INCLUSION_PROOFS)!.length, 1);
    assert.deepEqual(d.protectedBytes, decodeCoseSign1(signedRoot).protectedBytes, "same signed bytes");
  });

  test("another leaf's components, or changed ones, fail", async () => {
    await expectCode(
      verifyCoseReceipt(receiptFor(4), components[5]!, node.pem, service.pem),
      "COTERIE_ERR_RECEIPT_EVIDENCE_MISMATCH",
    );
    const changed = { ...components[4]!, claims_digest: "11".repeat(32) };
    await expectCode(
      verifyCoseReceipt(receiptFor(4), changed, node.pem, service.pem),
      "COTERIE_ERR_RECEIPT_BAD_SIGNATURE",
    );
    const badShape = { ...components[4]!, write_set_digest: "XY" };
    await expectCode(
      verifyCoseReceipt(receiptFor(4), badShape, node.pem, service.pem),
      "COTERIE_ERR_RECEIPT_MALFORMED",
    );
  });

  test("a changed path hash or tree size fails", async () => {
    const path = tree.inclusionProof(4).map((h) => Buffer.from(h));
    path[1]![0]! ^= 1;
    const tampered = encodeCoseReceipt(signedRoot, { treeSize: SIZE, leafIndex: 4, path });
    await expectCode(
      verifyCoseReceipt(tampered, components[4]!, node.pem, service.pem),
      "COTERIE_ERR_RECEIPT_BAD_SIGNATURE",
    );
    const short = encodeCoseReceipt(signedRoot, { treeSize: SIZE, leafIndex: 4, path: path.slice(1) });
    await expectCode(
      verifyCoseReceipt(short, components[4]!, node.pem, service.pem),
      "COTERIE_ERR_RECEIPT_BAD_PROOF",
    );
    // Leaf 7 has the same path shape in trees of 9 and 13 leaves: only the signed tree size tells.
    const d = decodeCoseSign1(receiptFor(7));
    const otherSize = encodeCborValue([9, 7, tree.inclusionProof(7).map((h) => new Uint8Array(h))]);
    const resized = encodeCoseSign1({
      ...d,
      unprotectedHeaders: new Map([[396, new Map([[-1, [otherSize]]])]]),
    });
    await expectCode(
      verifyCoseReceipt(resized, components[7]!, node.pem, service.pem),
      "COTERIE_ERR_RECEIPT_BAD_PROOF",
    );
    assert.throws(() => encodeCoseReceipt(signedRoot, { treeSize: 9, leafIndex: 7, path: [] }), RangeError);
  });

  test("certificates: another node, another service, expired", async () => {
    const other = await makeNodeIdentity(service);
    await expectCode(
      verifyCoseReceipt(receiptFor(0), components[0]!, other.pem, service.pem),
      "COTERIE_ERR_RECEIPT_NODE_ID_MISMATCH",
    );
    const otherService = await makeServiceIdentity();
    await expectCode(
      verifyCoseReceipt(receiptFor(0), components[0]!, node.pem, otherService.pem),
      "COTERIE_ERR_RECEIPT_CERT_NOT_ENDORSED",
    );
    const later = new Date(Date.now() + 400 * 86_400_000);
    await expectCode(
      verifyCoseReceipt(receiptFor(0), components[0]!, node.pem, service.pem, { now: later }),
      "COTERIE_ERR_RECEIPT_CERT_EXPIRED",
    );
  });

  test("structure: no vds, attached root, missing or doubled proofs", async () => {
    const root = tree.root();
    const proofBytes = encodeCborValue([SIZE, 0, tree.inclusionProof(0).map((h) => new Uint8Array(h))]);
    const withVdp = (msg: Uint8Array, vdp: unknown) => {
      const d = decodeCoseSign1(msg);
      return encodeCoseSign1({
        ...d,
        unprotectedHeaders: new Map([[396, vdp as Map<number, Uint8Array[]>]]),
      });
    };
    const noVds = await signCoseSign1(signer, root, {}, {}, { detached: true });
    await expectCode(
      verifyCoseReceipt(withVdp(noVds, new Map([[-1, [proofBytes]]])), components[0]!, node.pem, service.pem),
      "COTERIE_ERR_RECEIPT_MALFORMED",
    );
    const attached = await signCoseSign1(
      signer,
      root,
      new Map<string | number, number>([
        [395, 1],
        ["coterie.tree_size", SIZE],
      ]),
    );
    const unsized = await signCoseSign1(signer, root, new Map([[395, 1]]), {}, { detached: true });
    await expectCode(
      verifyCoseReceipt(
        withVdp(unsized, new Map([[-1, [proofBytes]]])),
        components[0]!,
        node.pem,
        service.pem,
      ),
      "COTERIE_ERR_RECEIPT_MALFORMED",
    );
    await expectCode(
      verifyCoseReceipt(
        withVdp(attached, new Map([[-1, [proofBytes]]])),
        components[0]!,
        node.pem,
        service.pem,
      ),
      "COTERIE_ERR_RECEIPT_MALFORMED",
    );
    for (const vdp of [
      new Map(),
      new Map([[-1, [proofBytes, proofBytes]]]),
      new Map([
        [-1, [proofBytes]],
        [-2, []],
      ]),
      new Map([[-1, [encodeCborValue([SIZE, 0])]]]),
    ]) {
      await expectCode(
        verifyCoseReceipt(withVdp(signedRoot, vdp), components[0]!, node.pem, service.pem),
        "COTERIE_ERR_RECEIPT_MALFORMED",
      );
    }
    await expectCode(
      verifyCoseReceipt(signedRoot, components[0]!, node.pem, service.pem),
      "COTERIE_ERR_RECEIPT_MALFORMED",
    );
    assert.throws(() => encodeCoseReceipt(attached, { treeSize: SIZE, leafIndex: 0, path: [] }), TypeError);
    assert.throws(() => encodeCoseReceipt(signedRoot, { treeSize: 3, leafIndex: 3, path: [] }), RangeError);
  });

  test("every single-byte corruption is rejected", async () => {
    const msg = receiptFor(7);
    for (let i = 0; i < msg.length; i++) {
      const bad = new Uint8Array(msg);
      bad[i]! ^= 0x04;
      let accepted = false;
      try {
        await verifyCoseReceipt(bad, components[7]!, node.pem, service.pem);
        accepted = true;
      } catch (e) {
        assert.ok(e instanceof CoterieError, `byte ${i}: ${String(e)}`);
      }
      assert.ok(!accepted, `byte ${i} accepted`);
    }
  });
});

describe("a P-256 node key signs ES256 (-7); the alg must fit the node key's curve", () => {
  let p256: Identity;
  let signedRoot256: Uint8Array;
  before(async () => {
    p256 = await makeNodeIdentity(service, { curve: "P-256" });
    const kid = sha256(new Uint8Array(p256.cert.rawData));
    signedRoot256 = await signCoseRoot(cryptoKeySigner(p256.keys.privateKey, kid, -7), tree.root(), SIZE);
  });
  const receipt256 = (index: number) =>
    encodeCoseReceipt(signedRoot256, { treeSize: SIZE, leafIndex: index, path: tree.inclusionProof(index) });
  /** `message` with its protected alg replaced (the signature left as it is). */
  const relabel = (message: Uint8Array, alg: number) => {
    const d = decodeCoseSign1(message);
    const headers = new Map(d.protectedHeaders);
    headers.set(1, alg);
    return encodeCoseSign1({ ...d, protectedBytes: encodeCborValue(headers) });
  };

  test("every leaf's ES256 receipt verifies under the P-256 node certificate", async () => {
    assert.equal(decodeCoseSign1(receipt256(0)).alg, -7);
    assert.equal(decodeCoseSign1(receipt256(0)).signature.length, 64);
    for (let i = 0; i < SIZE; i++) {
      const v = await verifyCoseReceipt(receipt256(i), components[i]!, p256.pem, service.pem);
      assert.equal(v.root, hex(tree.root()));
    }
  });

  test("a changed leaf or signature fails as with ES384", async () => {
    await expectCode(
      verifyCoseReceipt(receipt256(4), components[5]!, p256.pem, service.pem),
      "COTERIE_ERR_RECEIPT_EVIDENCE_MISMATCH",
    );
    const d = decodeCoseSign1(receipt256(4));
    const signature = new Uint8Array(d.signature);
    signature[10]! ^= 0x01;
    await expectCode(
      verifyCoseReceipt(encodeCoseSign1({ ...d, signature }), components[4]!, p256.pem, service.pem),
      "COTERIE_ERR_RECEIPT_BAD_SIGNATURE",
    );
  });

  test("ES384 on a P-256 node key, or ES256 on a P-384 one: COTERIE_ERR_COSE_UNSUPPORTED_ALG", async () => {
    await expectCode(
      verifyCoseReceipt(relabel(receipt256(2), -35), components[2]!, p256.pem, service.pem),
      "COTERIE_ERR_COSE_UNSUPPORTED_ALG",
    );
    await expectCode(
      verifyCoseReceipt(relabel(receiptFor(2), -7), components[2]!, node.pem, service.pem),
      "COTERIE_ERR_COSE_UNSUPPORTED_ALG",
    );
  });
});
