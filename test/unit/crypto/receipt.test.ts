// Receipt verification (docs/receipts.md) with real keys and certificates made here (P-384, and
// P-256 node keys): a valid receipt passes, and every tampered field fails with its own error code.
import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { type Receipt, signedRootMessage, verifyReceipt } from "../../../src/crypto/receipt.ts";
import { CoterieError, type ErrorCode } from "../../../src/util/errors.ts";
import {
  type Identity,
  makeNodeIdentity,
  makeReceipt,
  makeServiceIdentity,
  nodeSigning,
  resignWith,
} from "./receipt-fixture.ts";

let service: Identity;
let node: Identity;
let good: Receipt;

before(async () => {
  service = await makeServiceIdentity();
  node = await makeNodeIdentity(service);
  good = await makeReceipt(node);
});

const copy = (r: Receipt): Receipt => structuredClone(r);

async function expectCode(receipt: unknown, code: ErrorCode, pem = service.pem, now?: Date): Promise<void> {
  await assert.rejects(verifyReceipt(receipt, pem, now === undefined ? {} : { now }), (e: unknown) => {
    assert.ok(e instanceof CoterieError, `expected CoterieError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    return true;
  });
}

/** Replaces the hex digit at `index` of `s` with a different valid lowercase hex digit. */
function flipHex(s: string, index: number): string {
  const c = s[index]!;
  return s.slice(0, index) + (c === "0" ? "1" : "0") + s.slice(index + 1);
}

describe("valid receipts", () => {
  test("the contract's example shape (2.15 signed in 2.20) verifies", async () => {
    const v = await verifyReceipt(good, service.pem);
    assert.deepEqual(v, {
      transactionId: "2.15",
      root: good.root,
      nodeId: good.node_id,
      claimsDigest: "00".repeat(32),
    });
    assert.equal(good.tree_size, 19);
    assert.equal(good.leaf_index, 14);
  });

  test("edge positions: first leaf, one-leaf tree, last leaf, power-of-two sizes, view change", async () => {
    const cases = [
      { view: 1, seqno: 1, signatureView: 1, signatureSeqno: 2 },
      { view: 1, seqno: 1, signatureView: 1, signatureSeqno: 10 },
      { view: 2, seqno: 9, signatureView: 2, signatureSeqno: 10 },
      { view: 2, seqno: 32, signatureView: 3, signatureSeqno: 33 },
      { view: 2, seqno: 17, signatureView: 5, signatureSeqno: 65 },
      { view: 0, seqno: 100, signatureView: 7, signatureSeqno: 130 },
    ];
    for (const c of cases) {
      const r = await makeReceipt(node, c);
      const v = await verifyReceipt(r, service.pem);
      assert.equal(v.transactionId, `${c.view}.${c.seqno}`);
    }
  });

  test("an absent service_endorsements field is accepted", async () => {
    const r = copy(good);
    delete r.service_endorsements;
    await verifyReceipt(r, service.pem);
  });
});

describe("tampered digests and proofs fail with COTERIE_ERR_RECEIPT_BAD_PROOF", () => {
  for (const field of ["write_set_digest", "claims_digest"] as const) {
    test(`leaf_components.${field}: any changed hex digit`, async () => {
      for (const i of [0, 17, 63]) {
        const r = copy(good);
        r.leaf_components[field] = flipHex(r.leaf_components[field], i);
        await expectCode(r, "COTERIE_ERR_RECEIPT_BAD_PROOF");
      }
    });
  }

  test("commit evidence nonce changed", async () => {
    const r = copy(good);
    const ce = r.leaf_components.commit_evidence;
    r.leaf_components.commit_evidence = flipHex(ce, ce.length - 1);
    await expectCode(r, "COTERIE_ERR_RECEIPT_BAD_PROOF");
  });

  test("root changed", async () => {
    const r = copy(good);
    r.root = flipHex(r.root, 5);
    await expectCode(r, "COTERIE_ERR_RECEIPT_BAD_PROOF");
  });

  test("each proof hash changed", async () => {
    for (let i = 0; i < good.proof.length; i++) {
      const r = copy(good);
      const step = r.proof[i]!;
      if ("left" in step) step.left = flipHex(step.left, 10);
      else step.right = flipHex(step.right, 10);
      await expectCode(r, "COTERIE_ERR_RECEIPT_BAD_PROOF");
    }
  });

  test("each proof entry swapped left/right", async () => {
    for (let i = 0; i < good.proof.length; i++) {
      const r = copy(good);
      const step = r.proof[i]!;
      r.proof[i] = "left" in step ? { right: step.left } : { left: step.right };
      // Caught by the RFC 9162 path-shape check before any hashing, which names the step.
      await assert.rejects(verifyReceipt(r, service.pem), {
        code: "COTERIE_ERR_RECEIPT_BAD_PROOF",
        message: new RegExp(`proof step ${i} must be`),
      });
    }
  });

  test("proof entries reordered, dropped or added", async () => {
    const swapped = copy(good);
    [swapped.proof[0], swapped.proof[1]] = [swapped.proof[1]!, swapped.proof[0]!];
    await expectCode(swapped, "COTERIE_ERR_RECEIPT_BAD_PROOF");
    const dropped = copy(good);
    dropped.proof.pop();
    await expectCode(dropped, "COTERIE_ERR_RECEIPT_BAD_PROOF");
    const added = copy(good);
    added.proof.push({ right: good.root });
    await expectCode(added, "COTERIE_ERR_RECEIPT_BAD_PROOF");
  });

  test("a signature id and tree size moved together no longer fit the proof", async () => {
    const r = copy(good);
    r.signature_transaction_id = "2.40";
    r.tree_size = 39;
    await expectCode(r, "COTERIE_ERR_RECEIPT_BAD_PROOF");
  });
});

describe("the signature covers the signature transaction id, hence tree_size", () => {
  test("moving to a same-shaped tree (17 instead of 19 leaves) breaks the signature", async () => {
    // Leaf 14 has the path shape right, left, left, left, right in trees of both 17 and 19 leaves,
    // so only the signed (view, seqno) of the signature transaction catches this.
    const r = copy(good);
    r.signature_transaction_id = "2.18";
    r.tree_size = 17;
    await expectCode(r, "COTERIE_ERR_RECEIPT_BAD_SIGNATURE");
  });

  test("changing only the signature's view breaks the signature", async () => {
    const r = copy(good);
    r.signature_transaction_id = "3.20";
    await expectCode(r, "COTERIE_ERR_RECEIPT_BAD_SIGNATURE");
  });
});

describe("ids that disagree fail with COTERIE_ERR_RECEIPT_EVIDENCE_MISMATCH", () => {
  test("commit evidence names another transaction", async () => {
    for (const other of ["2.16", "3.15", "2.1"]) {
      const r = copy(good);
      r.leaf_components.commit_evidence = r.leaf_components.commit_evidence.replace(
        "ce:2.15:",
        `ce:${other}:`,
      );
      await expectCode(r, "COTERIE_ERR_RECEIPT_EVIDENCE_MISMATCH");
    }
  });

  test("transaction_id, leaf_index, tree_size or the signature id changed alone", async () => {
    const edits: ((r: Receipt) => void)[] = [
      (r) => (r.transaction_id = "2.16"),
      (r) => (r.leaf_index = 13),
      (r) => (r.tree_size = 18),
      (r) => (r.signature_transaction_id = "2.21"),
      (r) => (r.signature_transaction_id = "1.20"),
    ];
    for (const edit of edits) {
      const r = copy(good);
      edit(r);
      await expectCode(r, "COTERIE_ERR_RECEIPT_EVIDENCE_MISMATCH");
    }
  });

  test("a signature that precedes the transaction", async () => {
    const r = copy(good);
    r.signature_transaction_id = "2.15";
    r.tree_size = 14;
    await expectCode(r, "COTERIE_ERR_RECEIPT_EVIDENCE_MISMATCH");
  });
});

describe("signatures and certificates", () => {
  test("signature changed: COTERIE_ERR_RECEIPT_BAD_SIGNATURE", async () => {
    for (const i of [0, 47, 95]) {
      const r = copy(good);
      const sig = Buffer.from(r.signature, "base64");
      sig[i]! ^= 0x01;
      r.signature = sig.toString("base64");
      await expectCode(r, "COTERIE_ERR_RECEIPT_BAD_SIGNATURE");
    }
  });

  test("node_id changed: COTERIE_ERR_RECEIPT_NODE_ID_MISMATCH", async () => {
    const r = copy(good);
    r.node_id = flipHex(r.node_id, 0);
    await expectCode(r, "COTERIE_ERR_RECEIPT_NODE_ID_MISMATCH");
  });

  test("another node's certificate of the same service: COTERIE_ERR_RECEIPT_BAD_SIGNATURE", async () => {
    const other = await makeNodeIdentity(service);
    const r = copy(good);
    r.cert = other.pem;
    await expectCode(r, "COTERIE_ERR_RECEIPT_NODE_ID_MISMATCH");
    r.node_id = (await resignWith(good, other)).node_id;
    await expectCode(r, "COTERIE_ERR_RECEIPT_BAD_SIGNATURE");
  });

  test("same node key, certificate signed by another service: COTERIE_ERR_RECEIPT_CERT_NOT_ENDORSED", async () => {
    const otherService = await makeServiceIdentity("CN=coterie service");
    const impostor = await makeNodeIdentity(otherService, { keys: node.keys });
    const r = await resignWith(good, impostor);
    await verifyReceipt(r, otherService.pem);
    await expectCode(r, "COTERIE_ERR_RECEIPT_CERT_NOT_ENDORSED");
    r.service_endorsements = [otherService.pem];
    await expectCode(r, "COTERIE_ERR_RECEIPT_CERT_NOT_ENDORSED");
  });

  test("the node certificate presented as the service certificate: COTERIE_ERR_RECEIPT_CERT_NOT_ENDORSED", async () => {
    await expectCode(good, "COTERIE_ERR_RECEIPT_CERT_NOT_ENDORSED", node.pem);
  });

  test("expired or not yet valid node certificate: COTERIE_ERR_RECEIPT_CERT_EXPIRED", async () => {
    const day = 86_400_000;
    const expired = await makeNodeIdentity(service, {
      notBefore: new Date(Date.now() - 10 * day),
      notAfter: new Date(Date.now() - day),
    });
    await expectCode(await resignWith(good, expired), "COTERIE_ERR_RECEIPT_CERT_EXPIRED");
    const future = await makeNodeIdentity(service, { notBefore: new Date(Date.now() + day) });
    await expectCode(await resignWith(good, future), "COTERIE_ERR_RECEIPT_CERT_EXPIRED");
    await verifyReceipt(await resignWith(good, future), service.pem, { now: new Date(Date.now() + 2 * day) });
    await expectCode(good, "COTERIE_ERR_RECEIPT_CERT_EXPIRED", service.pem, new Date(Date.now() + 400 * day));
  });

  test("a service certificate that does not parse: COTERIE_ERR_INVALID_INPUT", async () => {
    await expectCode(good, "COTERIE_ERR_INVALID_INPUT", "not a pem");
    await expectCode(
      good,
      "COTERIE_ERR_INVALID_INPUT",
      "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----",
    );
  });
});

describe("node keys on P-256 or P-384: the node certificate's key decides hash and length", () => {
  /** `receipt` with its root signature replaced by `bytes`, as base64. */
  const withSignature = (receipt: Receipt, bytes: Uint8Array): Receipt => ({
    ...copy(receipt),
    signature: Buffer.from(bytes).toString("base64"),
  });
  /** The root message of `receipt` signed by `node`'s key with ECDSA and `hash`. */
  async function signRoot(receipt: Receipt, node: Identity, hash: string): Promise<Uint8Array> {
    const [view, seqno] = receipt.signature_transaction_id.split(".").map(Number) as [number, number];
    const message = signedRootMessage(Buffer.from(receipt.root, "hex"), view, seqno);
    return new Uint8Array(
      await globalThis.crypto.subtle.sign(
        { name: "ECDSA", hash },
        node.keys.privateKey,
        message as Uint8Array<ArrayBuffer>,
      ),
    );
  }

  test("a P-256 node key (ES256-style: SHA-256, 64-byte r ‖ s) under a P-384 service verifies", async () => {
    const p256 = await makeNodeIdentity(service, { curve: "P-256" });
    const r = await makeReceipt(p256);
    assert.equal(Buffer.from(r.signature, "base64").length, 64);
    assert.equal((await verifyReceipt(r, service.pem)).transactionId, "2.15");
    assert.equal(Buffer.from(good.signature, "base64").length, 96, "the P-384 receipt is unchanged");
    await verifyReceipt(good, service.pem);
  });

  test("a P-256 receipt tampered anywhere signed fails", async () => {
    const p256 = await makeNodeIdentity(service, { curve: "P-256" });
    const r = await makeReceipt(p256);
    const sig = Buffer.from(r.signature, "base64");
    for (const i of [0, 31, 63]) {
      const bad = Buffer.from(sig);
      bad[i]! ^= 0x01;
      await expectCode(withSignature(r, bad), "COTERIE_ERR_RECEIPT_BAD_SIGNATURE");
    }
    await expectCode({ ...r, signature_transaction_id: "3.20" }, "COTERIE_ERR_RECEIPT_BAD_SIGNATURE");
  });

  test("the hash follows the key's curve: a P-256 key's signature over SHA-384 fails", async () => {
    const p256 = await makeNodeIdentity(service, { curve: "P-256" });
    const r = await makeReceipt(p256);
    const sha384 = await signRoot(r, p256, "SHA-384");
    assert.equal(sha384.length, 64, "a P-256 signature is 64 bytes whatever the hash");
    await expectCode(withSignature(r, sha384), "COTERIE_ERR_RECEIPT_BAD_SIGNATURE");
    await verifyReceipt(withSignature(r, await signRoot(r, p256, nodeSigning("P-256").hash)), service.pem);
    const sha256 = await signRoot(good, node, "SHA-256");
    await expectCode(withSignature(good, sha256), "COTERIE_ERR_RECEIPT_BAD_SIGNATURE");
  });

  test("the length follows the key's curve, not the signature: MALFORMED for the other length", async () => {
    const p256 = await makeNodeIdentity(service, { curve: "P-256" });
    const r = await makeReceipt(p256);
    // A P-384 signature (96 bytes) presented with a P-256 certificate, and a 64-byte one with P-384.
    await expectCode(
      withSignature(r, Buffer.from(good.signature, "base64")),
      "COTERIE_ERR_RECEIPT_MALFORMED",
    );
    await expectCode(
      withSignature(good, Buffer.from(r.signature, "base64")),
      "COTERIE_ERR_RECEIPT_MALFORMED",
    );
    await expectCode(withSignature(r, new Uint8Array(63)), "COTERIE_ERR_RECEIPT_MALFORMED");
  });

  test("a node key on another curve (P-521) is refused: COTERIE_ERR_RECEIPT_BAD_SIGNATURE", async () => {
    const p521 = await makeNodeIdentity(service, { curve: "P-521" });
    await assert.rejects(verifyReceipt(await makeReceipt(p521), service.pem), {
      code: "COTERIE_ERR_RECEIPT_BAD_SIGNATURE",
      message: /P-256 or P-384/,
    });
  });
});

describe("malformed receipts fail with COTERIE_ERR_RECEIPT_MALFORMED", () => {
  test("hex fields: uppercase, non-hex character, wrong length, wrong type", async () => {
    const setters: [string, (r: Receipt, v: unknown) => void][] = [
      ["write_set_digest", (r, v) => (r.leaf_components.write_set_digest = v as string)],
      ["claims_digest", (r, v) => (r.leaf_components.claims_digest = v as string)],
      ["root", (r, v) => (r.root = v as string)],
      ["node_id", (r, v) => (r.node_id = v as string)],
      ["proof[0]", (r, v) => (r.proof[0] = { left: v as string })],
    ];
    const h = "ab".repeat(32);
    for (const [name, set] of setters) {
      for (const bad of [h.toUpperCase(), `g${h.slice(1)}`, h.slice(2), `${h}00`, "", 42, null]) {
        const r = copy(good);
        set(r, bad);
        await assert.rejects(verifyReceipt(r, service.pem), { code: "COTERIE_ERR_RECEIPT_MALFORMED" }, name);
      }
    }
  });

  test("missing fields, wrong types, bad ids and encodings", async () => {
    const edits: ((r: Record<string, unknown>) => void)[] = [
      (r) => delete r.transaction_id,
      (r) => delete r.leaf_components,
      (r) => delete r.proof,
      (r) => delete r.cert,
      (r) => (r.transaction_id = "2-15"),
      (r) => (r.transaction_id = "02.15"),
      (r) => (r.transaction_id = "2.0"),
      (r) => (r.signature_transaction_id = 220),
      (r) => (r.tree_size = "19"),
      (r) => (r.leaf_index = -1),
      (r) => (r.leaf_index = 1.5),
      (r) => (r.signature = "not base64!"),
      (r) => (r.signature = Buffer.alloc(64).toString("base64")),
      (r) => (r.cert = "garbage"),
      (r) => (r.cert = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----"),
      (r) => (r.proof = [{ left: "00".repeat(32), right: "00".repeat(32) }]),
      (r) => (r.proof = [{ up: "00".repeat(32) }]),
      (r) => (r.proof = Array.from({ length: 65 }, () => ({ left: "00".repeat(32) }))),
      (r) => (r.service_endorsements = "x"),
      (r) => ((r.leaf_components as Record<string, unknown>).commit_evidence = "ce:2.15:XYZ"),
      (r) => ((r.leaf_components as Record<string, unknown>).commit_evidence = `2.15:${"00".repeat(32)}`),
    ];
    for (const [i, edit] of edits.entries()) {
      const r = copy(good) as unknown as Record<string, unknown>;
      edit(r);
      await assert.rejects(
        verifyReceipt(r, service.pem),
        { code: "COTERIE_ERR_RECEIPT_MALFORMED" },
        `edit ${i}`,
      );
    }
    for (const notAReceipt of [null, [], "receipt", 7]) {
      await expectCode(notAReceipt, "COTERIE_ERR_RECEIPT_MALFORMED");
    }
  });
});
