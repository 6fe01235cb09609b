// Receipts across disaster recoveries (docs/receipts.md step 6): a receipt signed under service
// identity 0 verifies against identity 2 through [E1, E2], where E1 certifies identity 0's key and
// is signed by identity 1, and E2 certifies identity 1's key and is signed by identity 2. Missing,
// reordered or forged links, and an over-long chain, are refused.
import assert from "node:assert/strict";
import { before, test } from "node:test";
import { type Receipt, verifyReceipt } from "../../../src/crypto/receipt.ts";
import {
  type Identity,
  makeNodeIdentity,
  makeReceipt,
  makeServiceIdentity,
} from "../crypto/receipt-fixture.ts";

let services: Identity[];
let receipt: Receipt;
let e1: string;
let e2: string;

before(async () => {
  services = [await makeServiceIdentity(), await makeServiceIdentity(), await makeServiceIdentity()];
  const [s0, s1, s2] = services as [Identity, Identity, Identity];
  receipt = await makeReceipt(await makeNodeIdentity(s0));
  e1 = (await makeNodeIdentity(s1, { keys: s0.keys })).pem;
  e2 = (await makeNodeIdentity(s2, { keys: s1.keys })).pem;
});

const notEndorsed = { code: "COTERIE_ERR_RECEIPT_CERT_NOT_ENDORSED" };

test("the chain of previous identities leads from the signing identity to the pinned one", async () => {
  const [s0, s1, s2] = services as [Identity, Identity, Identity];
  await verifyReceipt(receipt, s0.pem);
  await verifyReceipt({ ...receipt, service_endorsements: [e1] }, s1.pem);
  await verifyReceipt({ ...receipt, service_endorsements: [e1, e2] }, s2.pem);
  // Endorsements are ignored when the node certificate is endorsed directly.
  await verifyReceipt({ ...receipt, service_endorsements: [e1, e2] }, s0.pem);
});

test("missing, reordered or forged links are refused", async () => {
  const [, s1, s2] = services as [Identity, Identity, Identity];
  await assert.rejects(verifyReceipt(receipt, s2.pem), notEndorsed);
  await assert.rejects(verifyReceipt({ ...receipt, service_endorsements: [e1] }, s2.pem), notEndorsed);
  await assert.rejects(verifyReceipt({ ...receipt, service_endorsements: [e2, e1] }, s2.pem), notEndorsed);
  await assert.rejects(verifyReceipt({ ...receipt, service_endorsements: [e2] }, s2.pem), notEndorsed);
  const attacker = await makeServiceIdentity();
  const forged = (await makeNodeIdentity(attacker, { keys: s1.keys })).pem;
  await assert.rejects(
    verifyReceipt({ ...receipt, service_endorsements: [e1, forged] }, s2.pem),
    notEndorsed,
  );
  await assert.rejects(verifyReceipt({ ...receipt, service_endorsements: Array(65).fill(e1) }, s2.pem), {
    code: "COTERIE_ERR_RECEIPT_MALFORMED",
  });
});
