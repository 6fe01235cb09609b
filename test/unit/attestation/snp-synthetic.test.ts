// SEV-SNP verification on synthetic vectors made here (test ARK/ASK/VCEK injected as trusted), so
// every refusal path is tested without ../shared: the same functions as the real-vector tests.
import assert from "node:assert/strict";
import { before, test } from "node:test";
import {
  type AttestationPolicy,
  authenticateEvidence,
  reportDataForPublicKey,
  snpReportLayout,
  verifyEvidence,
} from "../../../src/attestation/index.ts";
import type { CoterieError } from "../../../src/util/errors.ts";
import {
  buildReport,
  defaultChipId,
  defaultHostData,
  defaultMeasurement,
  defaultTcb,
  evidenceOf,
  hex,
  makeArk,
  makeChain,
  milanTcb,
  nodeKey,
  type ReportFields,
  signReport,
  spkiSha256,
  type TestChain,
} from "./fixtures.ts";

const L = snpReportLayout;
let milan: TestChain;
const node = nodeKey();

before(async () => {
  milan = await makeChain("Milan");
});

const policy = (over: Partial<AttestationPolicy> = {}): AttestationPolicy => ({
  measurements: [hex(defaultMeasurement)],
  hostData: [hex(defaultHostData)],
  minTcb: { Milan: { bootloader: 4, tee: 0, snp: 24, microcode: 219 } },
  ...over,
});

function report(fields: Partial<ReportFields> = {}, chain = milan): Uint8Array {
  return buildReport(chain.vcekPrivateKey, { reportData: node.reportData, ...fields });
}

function verify(raw: Uint8Array, p = policy(), chain = milan, pem = chain.pem) {
  return verifyEvidence(evidenceOf(raw, pem), p, node.publicKeyDer, { trustedRoots: [chain.root] });
}

async function refusal(promise: Promise<unknown>): Promise<string> {
  const error = (await promise.then(
    () => assert.fail("expected a refusal"),
    (e: unknown) => e,
  )) as CoterieError;
  assert.equal(error.name, "CoterieError", String(error));
  return error.code;
}

test("a well-formed report bound to the node key verifies, and survives a JSON round trip", async () => {
  const evidence = JSON.parse(JSON.stringify(evidenceOf(report(), milan.pem)));
  const verified = await verifyEvidence(evidence, policy(), node.publicKeyDer, {
    trustedRoots: [milan.root],
  });
  assert.equal(verified.measurement, hex(defaultMeasurement));
  assert.equal(verified.reportData, hex(node.reportData));
  assert.deepEqual(verified.snp?.reportedTcb, { bootloader: 4, tee: 0, snp: 24, microcode: 219 });
  assert.equal(verified.snp?.policy, "0x30000");
});

test("the test root is not trusted by default (AMD roots only)", async () => {
  const code = await refusal(verifyEvidence(evidenceOf(report(), milan.pem), policy(), node.publicKeyDer));
  assert.equal(code, "COTERIE_ERR_ATTESTATION_UNKNOWN_ROOT");
});

test("debug policy (bit 19) is refused unless the policy allows debugging", async () => {
  const debug = report({ policy: 0x30000n | (1n << 19n) });
  assert.equal(await refusal(verify(debug)), "COTERIE_ERR_ATTESTATION_DEBUG_POLICY");
  assert.equal((await verify(debug, policy({ allowDebug: true }))).snp?.policy, "0xb0000");
});

test("a TCB below the minimum is refused component by component", async () => {
  const newerSnp = { Milan: { bootloader: 0, tee: 0, snp: 25, microcode: 0 } };
  assert.equal(
    await refusal(verify(report(), policy({ minTcb: newerSnp }))),
    "COTERIE_ERR_ATTESTATION_TCB_TOO_OLD",
  );
  // A newer microcode does not make up for an older SNP firmware.
  const chain = await makeChain("Milan", { tcb: [4, 0, 23, 250] });
  const raw = report({ reportedTcb: milanTcb([4, 0, 23, 250]) }, chain);
  assert.equal(await refusal(verify(raw, policy(), chain)), "COTERIE_ERR_ATTESTATION_TCB_TOO_OLD");
  const zeros = { Milan: { bootloader: 0, tee: 0, snp: 0, microcode: 0 } };
  assert.equal((await verify(raw, policy({ minTcb: zeros }), chain)).snp?.reportedTcb.snp, 23);
});

test("a product with no minimum TCB in the policy is refused", async () => {
  const code = await refusal(
    verify(report(), policy({ minTcb: { Genoa: { bootloader: 0, tee: 0, snp: 0, microcode: 0 } } })),
  );
  assert.equal(code, "COTERIE_ERR_ATTESTATION_TCB_TOO_OLD");
});

test("measurement and host data must be in their allow-lists (hex of either case)", async () => {
  const other = report({ measurement: new Uint8Array(48).fill(1) });
  assert.equal(await refusal(verify(other)), "COTERIE_ERR_ATTESTATION_MEASUREMENT_NOT_ALLOWED");
  const otherHost = report({ hostData: new Uint8Array(32).fill(2) });
  assert.equal(await refusal(verify(otherHost)), "COTERIE_ERR_ATTESTATION_HOST_DATA_NOT_ALLOWED");
  assert.equal(
    await refusal(verify(report(), policy({ measurements: [] }))),
    "COTERIE_ERR_ATTESTATION_MEASUREMENT_NOT_ALLOWED",
  );
  const upper = policy({
    measurements: [hex(defaultMeasurement).toUpperCase()],
    hostData: [hex(defaultHostData).toUpperCase()],
  });
  assert.equal((await verify(report(), upper)).platform, "sev-snp");
});

test("evidence for another key, or with junk in the padding, is refused", async () => {
  const other = nodeKey();
  assert.equal(
    await refusal(verify(report({ reportData: other.reportData }))),
    "COTERIE_ERR_ATTESTATION_REPORT_DATA_MISMATCH",
  );
  const padded = Uint8Array.from(reportDataForPublicKey(node.publicKeyDer));
  padded[63] = 1;
  assert.equal(
    await refusal(verify(report({ reportData: padded }))),
    "COTERIE_ERR_ATTESTATION_REPORT_DATA_MISMATCH",
  );
});

test("unsupported versions, signature algorithms and VLEK signatures are refused", async () => {
  for (const fields of [{ version: 1 }, { version: 6 }, { signatureAlgo: 2 }, { flags: 1 << 2 }]) {
    assert.equal(
      await refusal(verify(report(fields))),
      "COTERIE_ERR_ATTESTATION_UNSUPPORTED_REPORT",
      JSON.stringify(fields),
    );
  }
  assert.equal((await verify(report({ version: 2 }))).snp?.reportVersion, 2);
  assert.equal((await verify(report({ version: 5 }))).snp?.reportVersion, 5);
});

test("non-zero bytes in the reserved signature area are refused as malformed", async () => {
  for (const offset of [L.signatureR + 48, L.signatureS + 71, L.signatureReserved, L.bytesLength - 1]) {
    const raw = report();
    raw[offset] = 1;
    assert.equal(await refusal(verify(raw)), "COTERIE_ERR_ATTESTATION_MALFORMED", `0x${offset.toString(16)}`);
  }
});

test("flipping any single byte of a synthetic report is refused (all 1184 offsets)", async () => {
  const good = report();
  for (let offset = 0; offset < L.bytesLength; offset++) {
    const tampered = Uint8Array.from(good);
    tampered[offset] = (tampered[offset] as number) ^ 0x80;
    const code = await refusal(verify(tampered));
    const expected =
      offset < L.signedEnd
        ? ["COTERIE_ERR_ATTESTATION_BAD_SIGNATURE", "COTERIE_ERR_ATTESTATION_UNSUPPORTED_REPORT"]
        : [];
    expected.push(
      offset < L.signatureReserved
        ? "COTERIE_ERR_ATTESTATION_BAD_SIGNATURE"
        : "COTERIE_ERR_ATTESTATION_MALFORMED",
    );
    if (offset >= L.signatureR) expected.push("COTERIE_ERR_ATTESTATION_MALFORMED");
    assert.ok(expected.includes(code), `offset 0x${offset.toString(16)}: ${code}`);
  }
});

test("a VCEK for another chip or another TCB is refused; a masked chip id skips the chip check", async () => {
  const otherChip = Uint8Array.from(defaultChipId).reverse();
  assert.equal(await refusal(verify(report({ chipId: otherChip }))), "COTERIE_ERR_ATTESTATION_BAD_CHAIN");
  const otherTcb = report({ reportedTcb: milanTcb([4, 0, 25, 219]) });
  assert.equal(await refusal(verify(otherTcb)), "COTERIE_ERR_ATTESTATION_BAD_CHAIN");
  const masked = report({ flags: 0b10, chipId: new Uint8Array(64) });
  assert.equal((await verify(masked)).snp?.chipId, "00".repeat(64));
});

test("a chain from another product, a wrong order, or a missing certificate is refused", async () => {
  const genoa = await makeArk("Genoa");
  const raw = report();
  // Milan VCEK and ASK presented with a (pinned) Genoa ARK: the ASK does not verify under it.
  const mixed = [milan.vcek, milan.ask, genoa.ark].map((c) => c.toString("pem")).join("\n");
  const pinnedGenoa = { product: "Genoa" as const, spkiSha256: spkiSha256(genoa.ark) };
  const viaGenoa = verifyEvidence(evidenceOf(raw, mixed), policy(), node.publicKeyDer, {
    trustedRoots: [milan.root, pinnedGenoa],
  });
  assert.equal(await refusal(viaGenoa), "COTERIE_ERR_ATTESTATION_BAD_CHAIN");
  // The Milan root re-labelled Genoa: the VCEK names product Milan.
  const relabelled = verifyEvidence(evidenceOf(raw, milan.pem), policy(), node.publicKeyDer, {
    trustedRoots: [{ product: "Genoa", spkiSha256: milan.root.spkiSha256 }],
  });
  assert.equal(await refusal(relabelled), "COTERIE_ERR_ATTESTATION_BAD_CHAIN");
  const pems = [milan.vcek, milan.ask, milan.ark].map((c) => c.toString("pem"));
  assert.equal(
    await refusal(verify(raw, policy(), milan, [...pems].reverse().join("\n"))),
    "COTERIE_ERR_ATTESTATION_BAD_CHAIN",
  );
  assert.equal(
    await refusal(verify(raw, policy(), milan, pems.slice(0, 2).join("\n"))),
    "COTERIE_ERR_ATTESTATION_BAD_CHAIN",
  );
  assert.equal(await refusal(verify(raw, policy(), milan, "not a pem")), "COTERIE_ERR_ATTESTATION_BAD_CHAIN");
});

test("a VCEK signed by a different ASK than the one presented is refused", async () => {
  const other = await makeChain("Milan");
  const pem = [other.vcek, milan.ask, milan.ark].map((c) => c.toString("pem")).join("\n");
  const raw = buildReport(other.vcekPrivateKey, { reportData: node.reportData });
  assert.equal(await refusal(verify(raw, policy(), milan, pem)), "COTERIE_ERR_ATTESTATION_BAD_CHAIN");
});

test("a VCEK signed with other RSA-PSS parameters than AMD's (salt 32) is refused", async () => {
  const chain = await makeChain("Milan", {}, { name: "RSA-PSS", saltLength: 32 });
  assert.equal(
    await refusal(verify(report({}, chain), policy(), chain)),
    "COTERIE_ERR_ATTESTATION_BAD_CHAIN",
  );
});

test("a report signed by another key than the VCEK is refused", async () => {
  const other = await makeChain("Milan");
  const raw = signReport(report(), other.vcekPrivateKey);
  assert.equal(await refusal(verify(raw)), "COTERIE_ERR_ATTESTATION_BAD_SIGNATURE");
});

test("the chain cache is keyed by the trusted roots too", async () => {
  const raw = report();
  assert.equal((await verify(raw)).platform, "sev-snp");
  const other = await makeChain("Milan");
  const elsewhere = verifyEvidence(evidenceOf(raw, milan.pem), policy(), node.publicKeyDer, {
    trustedRoots: [other.root],
  });
  assert.equal(await refusal(elsewhere), "COTERIE_ERR_ATTESTATION_UNKNOWN_ROOT");
});

test("certificate validity is checked on every call, cached chain or not", async () => {
  const raw = report();
  const later = { trustedRoots: [milan.root], nowMs: Date.now() + 400 * 24 * 3600 * 1000 };
  assert.equal((await verify(raw)).platform, "sev-snp");
  assert.equal(
    await refusal(verifyEvidence(evidenceOf(raw, milan.pem), policy(), node.publicKeyDer, later)),
    "COTERIE_ERR_ATTESTATION_BAD_CHAIN",
  );
});

test("Turin reports decode the Turin TCB layout (FMC first)", async () => {
  const turin = await makeChain("Turin", { tcb: [1, 2, 3, 4] });
  const raw = report({ reportedTcb: Uint8Array.of(9, 1, 2, 3, 0, 0, 0, 4) }, turin);
  const minTcb = { Turin: { fmc: 9, bootloader: 1, tee: 2, snp: 3, microcode: 4 } };
  const verified = await verify(raw, policy({ minTcb }), turin);
  assert.deepEqual(verified.snp?.reportedTcb, { fmc: 9, bootloader: 1, tee: 2, snp: 3, microcode: 4 });
  const tooOld = { Turin: { ...minTcb.Turin, fmc: 10 } };
  assert.equal(
    await refusal(verify(raw, policy({ minTcb: tooOld }), turin)),
    "COTERIE_ERR_ATTESTATION_TCB_TOO_OLD",
  );
});

test("malformed evidence shapes are refused with MALFORMED; a malformed policy is a TypeError", async () => {
  const good = evidenceOf(report(), milan.pem);
  const opts = { trustedRoots: [milan.root] };
  const cases: unknown[] = [
    null,
    42,
    {},
    { platform: "sgx" },
    { ...good, report: "%%%" },
    { ...good, report: 7 },
    { ...good, endorsements: 7 },
  ];
  for (const evidence of cases) {
    const code = await refusal(verifyEvidence(evidence as never, policy(), node.publicKeyDer, opts));
    assert.equal(code, "COTERIE_ERR_ATTESTATION_MALFORMED", JSON.stringify(evidence));
  }
  await assert.rejects(
    verifyEvidence(good, policy({ measurements: ["xyz"] }), node.publicKeyDer, opts),
    TypeError,
  );
  await assert.rejects(
    verifyEvidence(good, { ...policy(), hostData: undefined } as never, node.publicKeyDer, opts),
    TypeError,
  );
  await assert.rejects(verifyEvidence(good, policy(), new Uint8Array(0), opts), TypeError);
});

test("authenticateEvidence applies no policy but still refuses forgeries", async () => {
  const debug = report({ policy: 1n << 19n, measurement: new Uint8Array(48) });
  const facts = await authenticateEvidence(evidenceOf(debug, milan.pem), { trustedRoots: [milan.root] });
  assert.equal(facts.snp?.policy, "0x80000");
  const forged = Uint8Array.from(debug);
  forged[L.measurement] = 1;
  const code = await refusal(
    authenticateEvidence(evidenceOf(forged, milan.pem), { trustedRoots: [milan.root] }),
  );
  assert.equal(code, "COTERIE_ERR_ATTESTATION_BAD_SIGNATURE");
  assert.deepEqual(defaultTcb, [4, 0, 24, 219]);
});
