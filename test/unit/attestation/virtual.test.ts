import assert from "node:assert/strict";
import { sign } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import {
  type AttestationPolicy,
  authenticateEvidence,
  createPlatform,
  type VirtualEvidence,
  verifyEvidence,
  virtualMeasurement,
} from "../../../src/attestation/index.ts";
import type { CoterieError } from "../../../src/util/errors.ts";
import { nodeKey } from "./fixtures.ts";

const dir = mkdtempSync(join(tmpdir(), "coterie-attestation-virtual-"));
const measurement = virtualMeasurement(new TextEncoder().encode("app bundle v1"));
const platform = createPlatform("virtual", { measurement, machineKeyPath: join(dir, "machine.key") });
const node = nodeKey();
const policy: AttestationPolicy = {
  measurements: [measurement],
  hostData: ["00".repeat(32)],
  minTcb: {},
  allowVirtual: true,
};

async function refusal(promise: Promise<unknown>): Promise<string> {
  const error = (await promise.then(
    () => assert.fail("expected a refusal"),
    (e: unknown) => e,
  )) as CoterieError;
  assert.equal(error.name, "CoterieError", String(error));
  return error.code;
}

function restate(
  evidence: VirtualEvidence,
  edit: (s: Record<string, unknown>) => void,
  key?: Parameters<typeof sign>[2],
) {
  const statement = JSON.parse(Buffer.from(evidence.statement, "base64").toString("utf8"));
  edit(statement);
  const bytes = Buffer.from(JSON.stringify(statement));
  return {
    ...evidence,
    statement: bytes.toString("base64"),
    signature: key ? sign(null, bytes, key).toString("base64") : evidence.signature,
  };
}

test("the virtual platform says loudly that it is insecure", () => {
  const security = platform.describeSecurity();
  assert.equal(security.insecure, true);
  assert.match(security.message, /INSECURE/);
  assert.equal(platform.name, "virtual");
});

test("virtual evidence bound to the node key verifies when the policy allows the virtual platform", async () => {
  const evidence = JSON.parse(JSON.stringify(await platform.getEvidence(node.reportData)));
  const verified = await verifyEvidence(evidence, policy, node.publicKeyDer);
  assert.deepEqual(
    { platform: verified.platform, insecure: verified.insecure, measurement: verified.measurement },
    { platform: "virtual", insecure: true, measurement },
  );
});

test("virtual evidence is refused by a policy that does not allow it", async () => {
  const evidence = (await platform.getEvidence(node.reportData)) as VirtualEvidence;
  const strict = { ...policy, allowVirtual: false };
  assert.equal(
    await refusal(verifyEvidence(evidence, strict, node.publicKeyDer)),
    "COTERIE_ERR_ATTESTATION_PLATFORM_NOT_ALLOWED",
  );
  const { allowVirtual: _, ...unset } = policy;
  assert.equal(
    await refusal(verifyEvidence(evidence, unset, node.publicKeyDer)),
    "COTERIE_ERR_ATTESTATION_PLATFORM_NOT_ALLOWED",
  );
});

test("tampered, misdirected or disallowed virtual evidence is refused with its own code", async () => {
  const evidence = (await platform.getEvidence(node.reportData)) as VirtualEvidence;
  const tampered = restate(evidence, (s) => (s.measurement = "11".repeat(48)));
  assert.equal(
    await refusal(verifyEvidence(tampered, policy, node.publicKeyDer)),
    "COTERIE_ERR_ATTESTATION_BAD_SIGNATURE",
  );
  assert.equal(
    await refusal(verifyEvidence(evidence, policy, nodeKey().publicKeyDer)),
    "COTERIE_ERR_ATTESTATION_REPORT_DATA_MISMATCH",
  );
  const otherCode = { ...policy, measurements: ["22".repeat(48)] };
  assert.equal(
    await refusal(verifyEvidence(evidence, otherCode, node.publicKeyDer)),
    "COTERIE_ERR_ATTESTATION_MEASUREMENT_NOT_ALLOWED",
  );
  const otherHost = { ...policy, hostData: ["33".repeat(32)] };
  assert.equal(
    await refusal(verifyEvidence(evidence, otherHost, node.publicKeyDer)),
    "COTERIE_ERR_ATTESTATION_HOST_DATA_NOT_ALLOWED",
  );
});

test("malformed virtual statements are refused even when correctly signed", async () => {
  const { generateKeyPairSync } = await import("node:crypto");
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const base = (await platform.getEvidence(node.reportData)) as VirtualEvidence;
  const mine = { ...base, publicKey: publicKey.export({ type: "spki", format: "der" }).toString("base64") };
  const edits: Array<(s: Record<string, unknown>) => void> = [
    (s) => (s.extra = 1),
    (s) => (s.platform = "sev-snp"),
    (s) => (s.reportData = "00"),
    (s) => delete s.hostData,
  ];
  for (const edit of edits) {
    const evidence = restate(mine, edit, privateKey);
    assert.equal(
      await refusal(authenticateEvidence(evidence)),
      "COTERIE_ERR_ATTESTATION_MALFORMED",
      edit.toString(),
    );
  }
  assert.equal(
    await refusal(authenticateEvidence({ ...base, publicKey: "AAAA" })),
    "COTERIE_ERR_ATTESTATION_MALFORMED",
  );
  assert.equal(
    await refusal(authenticateEvidence({ ...base, signature: "!" })),
    "COTERIE_ERR_ATTESTATION_MALFORMED",
  );
});

test("getEvidence takes exactly 64 bytes of report data", async () => {
  await assert.rejects(platform.getEvidence(new Uint8Array(32)), RangeError);
});

test("createPlatform refuses unknown platforms and bad virtual options", () => {
  assert.throws(() => createPlatform("sgx" as never, {} as never), TypeError);
  assert.throws(
    () => createPlatform("virtual", { measurement: "abc", machineKeyPath: join(dir, "k") }),
    (e: CoterieError) => e.code === "COTERIE_ERR_ATTESTATION_MALFORMED",
  );
});
