// The SEV-SNP platform and the command provider, driven by synthetic reports (no hardware).
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { before, test } from "node:test";
import {
  createCommandProvider,
  createPlatform,
  type SnpEvidenceProvider,
  verifyEvidence,
} from "../../../src/attestation/index.ts";
import type { CoterieError } from "../../../src/util/errors.ts";
import {
  buildReport,
  defaultHostData,
  defaultMeasurement,
  hex,
  makeChain,
  nodeKey,
  type TestChain,
} from "./fixtures.ts";

let chain: TestChain;
const node = nodeKey();
const dir = mkdtempSync(join(tmpdir(), "coterie-attestation-snp-"));
const failed = (e: CoterieError) => e.code === "COTERIE_ERR_ATTESTATION_PROVIDER_FAILED";
const policy = {
  measurements: [hex(defaultMeasurement)],
  hostData: [hex(defaultHostData)],
  minTcb: { Milan: { bootloader: 0, tee: 0, snp: 0, microcode: 0 } },
};

before(async () => {
  chain = await makeChain("Milan");
});

function provider(over: Partial<SnpEvidenceProvider> = {}): SnpEvidenceProvider {
  return {
    getReport: async (reportData) => buildReport(chain.vcekPrivateKey, { reportData }),
    getEndorsements: async () => chain.pem,
    getSealingKey: async () => new Uint8Array(32).fill(7),
    ...over,
  };
}

test("the SEV-SNP platform's evidence verifies against the policy and the node key", async () => {
  const platform = createPlatform("sev-snp", { provider: provider() });
  assert.equal(platform.describeSecurity().insecure, false);
  const evidence = await platform.getEvidence(node.reportData);
  const verified = await verifyEvidence(evidence, policy, node.publicKeyDer, { trustedRoots: [chain.root] });
  assert.equal(verified.reportData, hex(node.reportData));
});

test("a provider that answers for other report data, with garbage, or throws is noticed on the node", async () => {
  const wrongData = provider({
    getReport: async () => buildReport(chain.vcekPrivateKey, { reportData: new Uint8Array(64) }),
  });
  await assert.rejects(
    createPlatform("sev-snp", { provider: wrongData }).getEvidence(node.reportData),
    failed,
  );
  const throws = provider({ getReport: async () => Promise.reject(new Error("ioctl failed")) });
  await assert.rejects(createPlatform("sev-snp", { provider: throws }).getEvidence(node.reportData), failed);
  const short = provider({ getReport: async () => new Uint8Array(100) });
  await assert.rejects(
    createPlatform("sev-snp", { provider: short }).getEvidence(node.reportData),
    (e: CoterieError) => e.code === "COTERIE_ERR_ATTESTATION_MALFORMED",
  );
});

test("the command provider runs argv commands and checks what they print", async () => {
  const reportPath = join(dir, "report.bin");
  const pemPath = join(dir, "chain.pem");
  writeFileSync(reportPath, buildReport(chain.vcekPrivateKey, { reportData: node.reportData }));
  writeFileSync(pemPath, chain.pem);
  const cat = (path: string) => [
    process.execPath,
    "-e",
    "process.stdout.write(require('fs').readFileSync(process.argv[1]))",
    path,
  ];
  const argsLog = join(dir, "args.json");
  const logArgs = [
    process.execPath,
    "-e",
    `require('fs').writeFileSync(${JSON.stringify(argsLog)}, JSON.stringify(process.argv.slice(1))); process.stdout.write(Buffer.alloc(32, 9))`,
  ];
  const commands = createCommandProvider({
    reportCommand: cat(reportPath),
    endorsementsCommand: cat(pemPath),
    sealingKeyCommand: logArgs,
  });
  const platform = createPlatform("sev-snp", { provider: commands });
  const evidence = await platform.getEvidence(node.reportData);
  const verified = await verifyEvidence(evidence, policy, node.publicKeyDer, { trustedRoots: [chain.root] });
  assert.equal(verified.platform, "sev-snp");
  assert.deepEqual(await commands.getSealingKey(), new Uint8Array(32).fill(9));
  assert.deepEqual((await import("node:fs")).readFileSync(argsLog, "utf8"), "[]");
});

test("the command provider reports failing, silent or slow commands as PROVIDER_FAILED", async () => {
  const node_ = process.execPath;
  const base = { endorsementsCommand: [node_, "-e", ""], sealingKeyCommand: [node_, "-e", ""] };
  const exit1 = createCommandProvider({ ...base, reportCommand: [node_, "-e", "process.exit(1)"] });
  await assert.rejects(exit1.getReport(node.reportData), failed);
  const empty = createCommandProvider({ ...base, reportCommand: [node_, "-e", ""] });
  await assert.rejects(empty.getReport(node.reportData), failed);
  await assert.rejects(empty.getSealingKey(), failed);
  const slow = createCommandProvider({
    ...base,
    reportCommand: [node_, "-e", "setTimeout(() => {}, 5000)"],
    timeoutMs: 200,
  });
  await assert.rejects(slow.getReport(node.reportData), failed);
  const missing = createCommandProvider({ ...base, reportCommand: [join(dir, "no-such-command")] });
  await assert.rejects(missing.getReport(node.reportData), failed);
});
