// The real AMD Milan report and chain from ../shared/vectors/sev-snp (skipped with a printed reason
// in a bare clone; snp-synthetic.test.ts covers the same code paths with a test chain).
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  amdRoots,
  authenticateEvidence,
  type SnpEvidence,
  snpReportLayout,
  verifyEvidence,
} from "../../../src/attestation/index.ts";
import type { CoterieError } from "../../../src/util/errors.ts";
import { evidenceOf, hex, nodeKey, realVectors } from "./fixtures.ts";

const vectors = realVectors();
const skip = "skip" in vectors ? vectors.skip : false;
if (skip) console.log(`# skipping real SEV-SNP vectors: ${skip}`);
const real = "skip" in vectors ? { report: new Uint8Array(0), pem: "" } : vectors;
const L = snpReportLayout;

async function refusal(promise: Promise<unknown>): Promise<string> {
  const error = (await promise.then(
    () => assert.fail("expected a refusal"),
    (e: unknown) => e,
  )) as CoterieError;
  assert.equal(error.name, "CoterieError", String(error));
  return error.code;
}

function evidence(report = real.report, pem = real.pem): SnpEvidence {
  return evidenceOf(report, pem);
}

test("the real Milan report verifies up to AMD's pinned Milan root", { skip }, async () => {
  const verified = await authenticateEvidence(evidence());
  assert.equal(verified.platform, "sev-snp");
  assert.equal(verified.insecure, false);
  assert.equal(verified.measurement, hex(real.report.subarray(L.measurement, L.measurement + 48)));
  assert.equal(verified.hostData, hex(real.report.subarray(L.hostData, L.hostData + 32)));
  assert.equal(verified.snp?.product, "Milan");
  assert.equal(verified.snp?.reportVersion, 3);
  assert.deepEqual(verified.snp?.reportedTcb, { bootloader: 4, tee: 0, snp: 24, microcode: 219 });
});

test("the real report passes every policy check up to the key binding it lacks", { skip }, async () => {
  const facts = await authenticateEvidence(evidence());
  const policy = {
    measurements: [facts.measurement],
    hostData: [facts.hostData],
    minTcb: { Milan: facts.snp!.reportedTcb },
  };
  // Its REPORT_DATA is zero, so it binds no key: policy checks pass, the key binding refuses.
  assert.equal(
    await refusal(verifyEvidence(evidence(), policy, nodeKey().publicKeyDer)),
    "COTERIE_ERR_ATTESTATION_REPORT_DATA_MISMATCH",
  );
  const newerTcb = { Milan: { bootloader: 4, tee: 0, snp: 25, microcode: 0 } };
  assert.equal(
    await refusal(verifyEvidence(evidence(), { ...policy, minTcb: newerTcb }, nodeKey().publicKeyDer)),
    "COTERIE_ERR_ATTESTATION_TCB_TOO_OLD",
  );
  assert.equal(
    await refusal(
      verifyEvidence(evidence(), { ...policy, measurements: ["00".repeat(48)] }, nodeKey().publicKeyDer),
    ),
    "COTERIE_ERR_ATTESTATION_MEASUREMENT_NOT_ALLOWED",
  );
});

test("flipping any single byte of the real report is refused (all 1184 offsets)", { skip }, async () => {
  const allowed = new Set([
    "COTERIE_ERR_ATTESTATION_BAD_SIGNATURE",
    "COTERIE_ERR_ATTESTATION_UNSUPPORTED_REPORT",
    "COTERIE_ERR_ATTESTATION_MALFORMED",
  ]);
  const counts = new Map<string, number>();
  for (let offset = 0; offset < L.bytesLength; offset++) {
    const tampered = Uint8Array.from(real.report);
    tampered[offset] = (tampered[offset] as number) ^ 0x01;
    const code = await refusal(authenticateEvidence(evidence(tampered)));
    assert.ok(allowed.has(code), `offset 0x${offset.toString(16)}: ${code}`);
    counts.set(code, (counts.get(code) ?? 0) + 1);
  }
  // The signed part and r, s fail the signature; reserved signature bytes fail as malformed.
  assert.ok((counts.get("COTERIE_ERR_ATTESTATION_BAD_SIGNATURE") ?? 0) >= L.signedEnd - 16 + 96);
});

test("wrong chain order, another product's root, and a tampered chain are refused", { skip }, async () => {
  const [vcek, ask, ark] = real.pem.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g)!;
  const chain = (...certs: (string | undefined)[]) => certs.join("\n");
  assert.equal(
    await refusal(authenticateEvidence(evidence(real.report, chain(ark, ask, vcek)))),
    "COTERIE_ERR_ATTESTATION_BAD_CHAIN",
  );
  assert.equal(
    await refusal(authenticateEvidence(evidence(real.report, chain(vcek, ark, ask)))),
    "COTERIE_ERR_ATTESTATION_UNKNOWN_ROOT",
  );
  assert.equal(
    await refusal(authenticateEvidence(evidence(real.report, chain(vcek, ask)))),
    "COTERIE_ERR_ATTESTATION_BAD_CHAIN",
  );
  const genoaOnly = amdRoots.filter((r) => r.product !== "Milan");
  assert.equal(
    await refusal(authenticateEvidence(evidence(), { trustedRoots: genoaOnly })),
    "COTERIE_ERR_ATTESTATION_UNKNOWN_ROOT",
  );
  // Milan's ARK declared as the Genoa root: the VCEK's product name no longer matches.
  const milanAsGenoa = [
    { product: "Genoa" as const, spkiSha256: amdRoots.find((r) => r.product === "Milan")!.spkiSha256 },
  ];
  assert.equal(
    await refusal(authenticateEvidence(evidence(), { trustedRoots: milanAsGenoa })),
    "COTERIE_ERR_ATTESTATION_BAD_CHAIN",
  );
  const body = vcek!.split("\n");
  const line = body[10]!;
  body[10] = (line[0] === "A" ? "B" : "A") + line.slice(1);
  const code = await refusal(authenticateEvidence(evidence(real.report, chain(body.join("\n"), ask, ark))));
  assert.ok(["COTERIE_ERR_ATTESTATION_BAD_CHAIN", "COTERIE_ERR_ATTESTATION_MALFORMED"].includes(code), code);
});

test("a truncated or padded real report is refused as malformed", { skip }, async () => {
  for (const report of [
    real.report.subarray(0, 1183),
    real.report.subarray(0, 0x2a0),
    Uint8Array.of(...real.report, 0),
  ]) {
    assert.equal(await refusal(authenticateEvidence(evidence(report))), "COTERIE_ERR_ATTESTATION_MALFORMED");
  }
});

test("the real chain is refused outside its validity period", { skip }, async () => {
  const year2040 = Date.UTC(2040, 0, 1);
  const year2020 = Date.UTC(2020, 0, 1);
  for (const nowMs of [year2040, year2020]) {
    assert.equal(
      await refusal(authenticateEvidence(evidence(), { nowMs })),
      "COTERIE_ERR_ATTESTATION_BAD_CHAIN",
    );
  }
});
