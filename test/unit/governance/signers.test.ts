// External signer commands: `openssl dgst -sign` (DER) and a script printing raw P1363 both
// produce signatures the node accepts; a failing or garbage-printing command is a clear error.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { decodeCoseSign1, verifyCoseSign1 } from "../../../src/crypto/cose.ts";
import { makeMember } from "./fixture.ts";
import { commandSigner, derToP1363, signGovRequest } from "./imports.ts";

const hasOpenssl = spawnSync("openssl", ["version"]).status === 0;

async function verifies(certPem: string, body: Uint8Array): Promise<void> {
  const spki = new Uint8Array(new X509Certificate(certPem).publicKey.export({ type: "spki", format: "der" }));
  await verifyCoseSign1(decodeCoseSign1(body), spki);
}

test("a Node script printing P1363 base64 signs valid requests (P-384 and P-256)", async () => {
  const dir = mkdtempSync(join(tmpdir(), "coterie-signer-"));
  for (const curve of ["P-384", "P-256"] as const) {
    const m = await makeMember(`signer-${curve}`, curve);
    const keyPath = join(dir, `${curve}.pem`);
    writeFileSync(keyPath, m.keyPem);
    const script = join(dir, `sign-${curve}.mjs`);
    writeFileSync(
      script,
      `import { sign } from "node:crypto"; import { readFileSync } from "node:fs";
       const tbs = readFileSync(0);
       const sig = sign("${curve === "P-384" ? "sha384" : "sha256"}", tbs, { key: readFileSync(${JSON.stringify(keyPath)}), dsaEncoding: "ieee-p1363" });
       process.stdout.write(sig.toString("base64") + "\\n");`,
    );
    const signer = commandSigner(m.certPem, `${JSON.stringify(process.execPath)} ${JSON.stringify(script)}`);
    await verifies(m.certPem, await signGovRequest({ signer, type: "proposal", payload: "{}" }));
  }
});

test("openssl dgst -sign (DER) works as a signer command", {
  skip: hasOpenssl ? false : "openssl is not installed",
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), "coterie-signer-"));
  const m = await makeMember("openssl");
  const keyPath = join(dir, "k.pem");
  writeFileSync(keyPath, m.keyPem);
  const signer = commandSigner(m.certPem, `openssl dgst -sha384 -sign ${keyPath} | base64 -w0`);
  for (let i = 0; i < 5; i++)
    await verifies(m.certPem, await signGovRequest({ signer, type: "proposal", payload: `{"n":${i}}` }));
});

test("a failing command or non-signature output is COTERIE_ERR_GOV_SIGNER_FAILED", async () => {
  const m = await makeMember("bad");
  for (const command of ["exit 3", "echo not-base64!", "echo AAAA"]) {
    await assert.rejects(
      signGovRequest({ signer: commandSigner(m.certPem, command), type: "proposal", payload: "{}" }),
      (e: unknown) => (e as { code?: string }).code === "COTERIE_ERR_GOV_SIGNER_FAILED",
      command,
    );
  }
});

test("derToP1363 pads short integers and strips the sign byte", () => {
  const r = new Uint8Array([0x00, 0x80, ...new Array(31).fill(1)]); // 33 bytes with sign byte
  const s = new Uint8Array([0x05]); // short
  const der = new Uint8Array([0x30, 2 + r.length + 2 + s.length, 0x02, r.length, ...r, 0x02, s.length, ...s]);
  const out = derToP1363(der, 32);
  assert.equal(out.length, 64);
  assert.deepEqual(out.subarray(0, 32), r.subarray(1));
  assert.equal(out[63], 5);
  assert.ok(out.subarray(32, 63).every((b) => b === 0));
  assert.throws(() => derToP1363(der.subarray(0, der.length - 1), 32));
});
