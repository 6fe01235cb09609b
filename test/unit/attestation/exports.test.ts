// Snapshot of the public API: a change to this list must be deliberate (and documented).
import assert from "node:assert/strict";
import { test } from "node:test";
import * as attestation from "../../../src/attestation/index.ts";

test("src/attestation exports exactly its documented API", () => {
  assert.deepEqual(Object.keys(attestation).sort(), [
    "amdRoots",
    "authenticateEvidence",
    "clearEndorsementsCache",
    "createCommandProvider",
    "createPlatform",
    "parseSnpReport",
    "reportDataBytes",
    "reportDataForPublicKey",
    "sealMagic",
    "snpReportLayout",
    "verifyEvidence",
    "virtualMeasurement",
  ]);
});

test("pinned AMD roots: Milan, Genoa, Turin, each a SHA-256 fingerprint", () => {
  assert.deepEqual(
    attestation.amdRoots.map((r) => r.product),
    ["Milan", "Genoa", "Turin"],
  );
  for (const root of attestation.amdRoots) assert.match(root.spkiSha256, /^[0-9a-f]{64}$/);
});
