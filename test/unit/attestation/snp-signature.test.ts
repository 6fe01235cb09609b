// The report's own signature check (src/attestation/snp/signature.ts): ECDSA P-384 with SHA-384
// under the VCEK, as the SEV-SNP ABI names it, and nothing else.
import assert from "node:assert/strict";
import { generateKeyPairSync, sign } from "node:crypto";
import { test } from "node:test";
import { parseSnpReport, snpReportLayout } from "../../../src/attestation/snp/report.ts";
import { snpSignatureValid } from "../../../src/attestation/snp/signature.ts";
import { buildReport } from "./fixtures.ts";

test("a report verifies under its P-384 VCEK with SHA-384 only", () => {
  const vcek = generateKeyPairSync("ec", { namedCurve: "P-384" });
  const raw = buildReport(vcek.privateKey);
  assert.equal(snpSignatureValid(parseSnpReport(raw), vcek.publicKey), true);
  const other = generateKeyPairSync("ec", { namedCurve: "P-384" }).publicKey;
  assert.equal(snpSignatureValid(parseSnpReport(raw), other), false, "another P-384 key");
  for (const [what, key] of [
    ["a P-256 key", generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey],
    ["an RSA key", generateKeyPairSync("rsa", { modulusLength: 2048 }).publicKey],
  ] as const) {
    assert.equal(snpSignatureValid(parseSnpReport(raw), key), false, what);
  }
  // The same key signing SHA-256 of the same bytes is not the ABI's signature.
  const L = snpReportLayout;
  const sig = sign("sha256", raw.subarray(0, L.signedEnd), {
    key: vcek.privateKey,
    dsaEncoding: "ieee-p1363",
  });
  const resigned = Uint8Array.from(raw);
  resigned.fill(0, L.signatureR);
  for (let i = 0; i < 48; i++) {
    resigned[L.signatureR + i] = sig[47 - i] as number;
    resigned[L.signatureS + i] = sig[95 - i] as number;
  }
  assert.equal(snpSignatureValid(parseSnpReport(resigned), vcek.publicKey), false, "SHA-256");
});
