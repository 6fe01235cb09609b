// The COSE form of receipts as a node serves it (src/node/cose-receipts.ts): made from the JSON
// receipt of a committed transaction, the root signed by the answering node once and kept.
import assert from "node:assert/strict";
import { test } from "node:test";
import { COSE_ALG, decodeCoseSign1 } from "../../../src/crypto/cose.ts";
import { verifyServedCoseReceipt } from "../../../src/crypto/cose-receipt.ts";
import type { Curve } from "../../../src/crypto/keys.ts";
import type { Receipt } from "../../../src/crypto/receipt.ts";
import { utf8 } from "../../../src/kv/index.ts";
import { CoseReceipts } from "../../../src/node/cose-receipts.ts";
import type { Engine, TxId } from "../../../src/node/engine.ts";
import { makeEngine } from "./engine-fixture.ts";

/** `n` committed writes, a signature after each `perSignature` of them; their receipts. */
async function committed(engine: Engine, n: number, perSignature: number): Promise<Receipt[]> {
  const ids: TxId[] = [];
  for (let i = 0; i < n; i++) {
    const { txId } = await engine.execute((tx) => tx.typed("records", utf8, utf8).put(`k${i}`, `v${i}`), {
      reservedWrites: false,
    });
    assert.ok(txId !== null);
    ids.push(txId);
    if ((i + 1) % perSignature === 0) engine.appendSignature();
  }
  for (const id of ids) assert.equal(await engine.waitForCommit(id, 5000), "Committed");
  return ids.map((id) => engine.receipt(id) as Receipt);
}

/** The hex of the COSE signature in a served answer. */
function signatureOf(answer: { cose_receipt: string } | undefined): string {
  assert.ok(answer !== undefined);
  return Buffer.from(decodeCoseSign1(Buffer.from(answer.cose_receipt, "base64")).signature).toString("hex");
}

for (const [curve, alg] of [
  ["P-384", COSE_ALG.ES384],
  ["P-256", COSE_ALG.ES256],
] as const) {
  test(`a ${curve} node's COSE receipts verify against the service certificate, one signature per root`, async () => {
    const engine = await makeEngine(
      { signatureIntervalTxs: 1000, signatureIntervalMs: 60_000 },
      0,
      curve as Curve,
    );
    engine.start();
    try {
      const receipts = await committed(engine, 4, 2);
      const answers = await Promise.all(receipts.map((r) => engine.coseReceipts.answer(r)));
      for (const [i, answer] of answers.entries()) {
        const receipt = receipts[i] as Receipt;
        const cose = decodeCoseSign1(Buffer.from(answer.cose_receipt, "base64"));
        assert.equal(cose.alg, alg);
        assert.equal(Buffer.from(cose.kid ?? []).toString("hex"), engine.identity.nodeId);
        assert.equal(answer.cert, engine.identity.nodeCert);
        assert.deepEqual(answer.leaf_components, receipt.leaf_components);
        const verified = await verifyServedCoseReceipt(answer, engine.identity.serviceCert);
        assert.equal(verified.transactionId, receipt.transaction_id);
        assert.equal(verified.root, receipt.root);
        assert.equal(verified.treeSize, receipt.tree_size);
      }
      // ECDSA signatures are randomised: equal bytes mean the root was signed once.
      assert.equal(signatureOf(answers[0]), signatureOf(answers[1]), "same signature transaction");
      assert.notEqual(signatureOf(answers[1]), signatureOf(answers[2]), "another root");
      const again = await engine.coseReceipts.answer(receipts[0] as Receipt);
      assert.equal(signatureOf(again), signatureOf(answers[0]), "kept for the next request");
    } finally {
      await engine.close();
    }
  });
}

test("a served COSE receipt is refused when its leaf, its transaction id or its encoding is changed", async () => {
  const engine = await makeEngine({ signatureIntervalTxs: 1000, signatureIntervalMs: 60_000 }, 0, "P-256");
  engine.start();
  try {
    const [receipt] = await committed(engine, 1, 1);
    const answer = await engine.coseReceipts.answer(receipt as Receipt);
    const service = engine.identity.serviceCert;
    const otherClaims = { ...answer.leaf_components, claims_digest: "11".repeat(32) };
    await assert.rejects(verifyServedCoseReceipt({ ...answer, leaf_components: otherClaims }, service), {
      code: "COTERIE_ERR_RECEIPT_BAD_SIGNATURE",
    });
    await assert.rejects(verifyServedCoseReceipt({ ...answer, transaction_id: "1.999" }, service), {
      code: "COTERIE_ERR_RECEIPT_EVIDENCE_MISMATCH",
    });
    await assert.rejects(verifyServedCoseReceipt({ ...answer, cose_receipt: "not base64!" }, service), {
      code: "COTERIE_ERR_RECEIPT_MALFORMED",
    });
    await assert.rejects(verifyServedCoseReceipt(null, service), { code: "COTERIE_ERR_RECEIPT_MALFORMED" });
    const bytes = Buffer.from(answer.cose_receipt, "base64");
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) ^ 1;
    await assert.rejects(
      verifyServedCoseReceipt({ ...answer, cose_receipt: bytes.toString("base64") }, service),
      { code: "COTERIE_ERR_RECEIPT_BAD_SIGNATURE" },
    );
  } finally {
    await engine.close();
  }
});

test("signed roots kept are bounded: the oldest is signed again when asked after the bound", async () => {
  const engine = await makeEngine({ signatureIntervalTxs: 1000, signatureIntervalMs: 60_000 }, 0, "P-256");
  engine.start();
  try {
    const receipts = await committed(engine, 3, 1);
    const kept = new CoseReceipts(() => engine.identity, 2);
    const first = await kept.answer(receipts[0] as Receipt);
    assert.equal(signatureOf(await kept.answer(receipts[0] as Receipt)), signatureOf(first));
    await kept.answer(receipts[1] as Receipt);
    await kept.answer(receipts[2] as Receipt);
    const resigned = await kept.answer(receipts[0] as Receipt);
    assert.notEqual(signatureOf(resigned), signatureOf(first), "dropped, so signed again");
    await verifyServedCoseReceipt(resigned, engine.identity.serviceCert);
  } finally {
    await engine.close();
  }
});
