// docs/receipts.md must stay true: its worked example verifies as printed, its intermediate values
// are the ones the verifier computes, and every error code it names is registered.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { test } from "node:test";
import { leafHash, sha256 } from "../../../src/crypto/merkle.ts";
import { type Receipt, verifyReceipt } from "../../../src/crypto/receipt.ts";
import { errorCodes } from "../../../src/util/errors.ts";

const doc = readFileSync(resolve(import.meta.dirname, "../../../docs/receipts.md"), "utf8");
const block = (lang: string) => {
  const m = new RegExp("```" + lang + "\\n([\\s\\S]*?)```").exec(doc);
  assert.ok(m, `docs/receipts.md has a ${lang} block`);
  return m[1]!;
};
const at = new Date("2026-11-22T00:00:00Z");
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

test("the worked example verifies as printed", async () => {
  const receipt = JSON.parse(block("json")) as Receipt;
  const v = await verifyReceipt(receipt, block("pem"), { now: at });
  assert.equal(v.transactionId, "2.5");
  assert.match(doc, new RegExp(`after step 2 \\(left\\) = root\\s*\\| \`${v.root}\``));
  const tampered = structuredClone(receipt);
  tampered.leaf_components.claims_digest = `01${tampered.leaf_components.claims_digest.slice(2)}`;
  await assert.rejects(verifyReceipt(tampered, block("pem"), { now: at }), {
    code: "COTERIE_ERR_RECEIPT_BAD_PROOF",
  });
});

test("the intermediate values in the doc are the verifier's", async () => {
  const receipt = JSON.parse(block("json")) as Receipt;
  const lc = receipt.leaf_components;
  const ceDigest = hex(await sha256(new TextEncoder().encode(lc.commit_evidence)));
  const d = lc.write_set_digest + ceDigest + lc.claims_digest;
  // Table cells, whatever padding the formatter gives them.
  const cell = (value: string) => new RegExp(`\\| \`${value}\`\\s*\\|`);
  assert.match(doc, cell(ceDigest), "commit evidence digest");
  assert.match(doc, cell(d), "leaf data");
  assert.match(doc, cell(hex(await leafHash(Buffer.from(d, "hex")))), "leaf hash");
});

test("every error code the doc names is registered", () => {
  const named = new Set(doc.match(/COTERIE_ERR_[A-Z_]+/g));
  assert.ok(named.size >= 7);
  for (const code of named) assert.ok(code in errorCodes, `${code} is not in src/util/errors.ts`);
});
