import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import {
  createPlatform,
  type SnpEvidenceProvider,
  sealMagic,
  virtualMeasurement,
} from "../../../src/attestation/index.ts";
import type { CoterieError } from "../../../src/util/errors.ts";

const dir = mkdtempSync(join(tmpdir(), "coterie-attestation-seal-"));
const keyPath = join(dir, "machine.key");
const measurementV1 = virtualMeasurement(new TextEncoder().encode("code v1"));
const measurementV2 = virtualMeasurement(new TextEncoder().encode("code v2"));
const secret = new TextEncoder().encode("node identity key and ledger secrets");

const unsealFailed = (e: CoterieError) => e.code === "COTERIE_ERR_ATTESTATION_UNSEAL_FAILED";

test("virtual sealing round-trips, and the file says it is insecure", async () => {
  const platform = createPlatform("virtual", { measurement: measurementV1, machineKeyPath: keyPath });
  const sealed = await platform.seal(secret, "identity");
  assert.equal(
    Buffer.from(sealed.subarray(0, sealMagic.virtual.length)).toString("ascii"),
    "INSECURE-VIRTUAL-SEAL\n",
  );
  assert.ok(
    !Buffer.from(sealed).includes(Buffer.from(secret)),
    "plaintext must not appear in the sealed bytes",
  );
  assert.deepEqual(await platform.unseal(sealed, "identity"), secret);
  // A restarted node (new platform object, same machine key file and measurement) unseals.
  const restarted = createPlatform("virtual", { measurement: measurementV1, machineKeyPath: keyPath });
  assert.deepEqual(await restarted.unseal(sealed, "identity"), secret);
});

test("the machine key file is created once, 32 bytes, readable by the owner only", async () => {
  const path = join(dir, "fresh.key");
  const platform = createPlatform("virtual", { measurement: measurementV1, machineKeyPath: path });
  await platform.seal(secret, "x");
  const key = readFileSync(path);
  assert.equal(key.byteLength, 32);
  assert.equal(statSync(path).mode & 0o777, 0o600);
  await createPlatform("virtual", { measurement: measurementV1, machineKeyPath: path }).seal(secret, "x");
  assert.deepEqual(readFileSync(path), key);
});

test("a node whose measurement changed cannot unseal", async () => {
  const v1 = createPlatform("virtual", { measurement: measurementV1, machineKeyPath: keyPath });
  const v2 = createPlatform("virtual", { measurement: measurementV2, machineKeyPath: keyPath });
  const sealed = await v1.seal(secret, "ledger-secrets");
  await assert.rejects(v2.unseal(sealed, "ledger-secrets"), unsealFailed);
});

test("another label, another machine, a flipped byte or truncation cannot unseal", async () => {
  const platform = createPlatform("virtual", { measurement: measurementV1, machineKeyPath: keyPath });
  const sealed = await platform.seal(secret, "identity");
  await assert.rejects(platform.unseal(sealed, "ledger-secrets"), unsealFailed);
  const elsewhere = createPlatform("virtual", {
    measurement: measurementV1,
    machineKeyPath: join(dir, "other.key"),
  });
  await assert.rejects(elsewhere.unseal(sealed, "identity"), unsealFailed);
  for (const offset of [0, sealMagic.virtual.length, sealMagic.virtual.length + 1, sealed.byteLength - 1]) {
    const flipped = Uint8Array.from(sealed);
    flipped[offset] = (flipped[offset] as number) ^ 1;
    await assert.rejects(platform.unseal(flipped, "identity"), unsealFailed, `offset ${offset}`);
  }
  await assert.rejects(platform.unseal(sealed.subarray(0, 30), "identity"), unsealFailed);
});

test("seal labels and sizes are bounded", async () => {
  const platform = createPlatform("virtual", { measurement: measurementV1, machineKeyPath: keyPath });
  await assert.rejects(platform.seal(secret, ""), RangeError);
  await assert.rejects(platform.seal(secret, "x".repeat(257)), RangeError);
});

function fakeProvider(sealingKey: Uint8Array): SnpEvidenceProvider {
  return {
    getReport: async () => assert.fail("not used"),
    getEndorsements: async () => assert.fail("not used"),
    getSealingKey: async () => sealingKey,
  };
}

test("SEV-SNP sealing uses the provider's derived key; another key (other measurement) cannot unseal", async () => {
  const derivedKey = randomBytes(32);
  const platform = createPlatform("sev-snp", { provider: fakeProvider(derivedKey) });
  const sealed = await platform.seal(secret, "identity");
  assert.equal(
    Buffer.from(sealed.subarray(0, sealMagic.snp.length)).toString("ascii"),
    "COTERIE-SEV-SNP-SEAL\n",
  );
  assert.deepEqual(await platform.unseal(sealed, "identity"), secret);
  const changedCode = createPlatform("sev-snp", { provider: fakeProvider(randomBytes(32)) });
  await assert.rejects(changedCode.unseal(sealed, "identity"), unsealFailed);
  // A virtual seal is not mistaken for a hardware one, nor the reverse.
  const virtual = createPlatform("virtual", { measurement: measurementV1, machineKeyPath: keyPath });
  await assert.rejects(platform.unseal(await virtual.seal(secret, "identity"), "identity"), unsealFailed);
  await assert.rejects(virtual.unseal(sealed, "identity"), unsealFailed);
});

test("a provider returning a short sealing key fails with PROVIDER_FAILED, and is asked again later", async () => {
  let calls = 0;
  const provider = {
    ...fakeProvider(new Uint8Array(16)),
    getSealingKey: async () => {
      calls++;
      return new Uint8Array(16);
    },
  };
  const platform = createPlatform("sev-snp", { provider });
  const failed = (e: CoterieError) => e.code === "COTERIE_ERR_ATTESTATION_PROVIDER_FAILED";
  await assert.rejects(platform.seal(secret, "identity"), failed);
  await assert.rejects(platform.seal(secret, "identity"), failed);
  assert.equal(calls, 2);
});
