// `ledger verify` must catch a flipped byte in every part of an entry and name where it is, and
// verifies node signatures with the hash and length of the node certificate's curve (P-256, P-384).
import assert from "node:assert/strict";
import { KeyObject, sign } from "node:crypto";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { crc32 } from "node:zlib";
import * as x509 from "@peculiar/x509";
import { type Curve, generateKeyPair, toCryptoKeyPair } from "../../../src/crypto/keys.ts";
import { CHUNK_HEADER_BYTES } from "../../../src/ledger/chunk-format.ts";
import { HEADER_BYTES } from "../../../src/ledger/entry.ts";
import { verifyLedgerDirectory } from "../../../src/ledger/verify.ts";
import { bothVerifiers, type Identity, makeIdentity, tempDir, writeLedger } from "./helpers.ts";

const options = { chunkBytesMax: 1 << 20, batchBytesMax: 1 << 20 };

async function sample() {
  const dir = tempDir();
  const id = await makeIdentity();
  const ledger = await writeLedger(dir, id, 8, 4, options);
  await ledger.close();
  const file = join(dir, readdirSync(dir).find((n) => n.endsWith(".chunk")) as string);
  return { dir, id, file, pristine: readFileSync(file) };
}

/** Offsets of each entry frame in the chunk: [frameStart, entryStart, entryBytes]. */
function frames(buf: Buffer): Array<[number, number, number]> {
  const out: Array<[number, number, number]> = [];
  for (let o = CHUNK_HEADER_BYTES; o < buf.length; ) {
    const n = buf.readUInt32LE(o);
    out.push([o, o + 4, n]);
    o += n + 8;
  }
  return out;
}

test("an untouched ledger verifies, with the given service certificate or the recorded one", async () => {
  const { dir, id } = await sample();
  const r = verifyLedgerDirectory(dir, { serviceCertPem: id.serviceCert });
  assert.equal(r.entries, 10);
  assert.equal(r.signatures, 2);
  assert.equal(r.unsignedTail, 0);
  assert.equal(verifyLedgerDirectory(dir).serviceCertSource, "ledger");
});

test("a flipped byte anywhere in an entry is caught and the entry is named (CRC intact)", async () => {
  const { dir, id, file, pristine } = await sample();
  const [, entryStart, n] = frames(pristine)[2] as [number, number, number]; // seqno 3
  // header, public section, private section, claims digest, commit evidence digest, frame length, CRC
  const offsets = [
    entryStart + 1,
    entryStart + 20,
    entryStart + HEADER_BYTES + 3,
    entryStart + n - 70,
    entryStart + n - 40,
    entryStart + n - 1,
    entryStart + n + 1,
    entryStart - 3,
  ];
  for (const offset of offsets) {
    const copy = Buffer.from(pristine);
    copy[offset] = (copy[offset] as number) ^ 0x01;
    writeFileSync(file, copy);
    assert.throws(
      () => verifyLedgerDirectory(dir, { serviceCertPem: id.serviceCert }),
      (e: Error & { code?: string }) => {
        assert.equal(e.code, "COTERIE_ERR_LEDGER_VERIFY_FAILED");
        assert.match(e.message, /^entry 3 /, `byte ${offset}: ${e.message}`);
        return true;
      },
    );
  }
});

test("a forger who also fixes the CRC is caught by the signed root over that range", async () => {
  const { dir, id, file, pristine } = await sample();
  const [, entryStart, n] = frames(pristine)[2] as [number, number, number];
  for (const offset of [
    entryStart + HEADER_BYTES + 3,
    entryStart + n - 70,
    entryStart + n - 40,
    entryStart + n - 1,
  ]) {
    const copy = Buffer.from(pristine);
    copy[offset] = (copy[offset] as number) ^ 0x01;
    copy.writeUInt32LE(crc32(copy.subarray(entryStart, entryStart + n)), entryStart + n);
    writeFileSync(file, copy);
    assert.throws(
      () => verifyLedgerDirectory(dir, { serviceCertPem: id.serviceCert }),
      /entry 5 .*entries 1\.\.4: one of them was altered/,
    );
  }
});

test("a signature by a node the service did not endorse is refused", async () => {
  const { dir } = await sample();
  const other = await makeIdentity();
  assert.throws(
    () => verifyLedgerDirectory(dir, { serviceCertPem: other.serviceCert }),
    /not endorsed by the service certificate/,
  );
});

test("a forged signature value is refused", async () => {
  const { dir, id, file, pristine } = await sample();
  const [, entryStart, n] = frames(pristine)[4] as [number, number, number]; // the first signature (seqno 5)
  const text = pristine.subarray(entryStart, entryStart + n).toString("latin1");
  const at = text.indexOf('"signature":"') + 14;
  const copy = Buffer.from(pristine);
  copy[entryStart + at] = copy[entryStart + at] === 0x41 ? 0x42 : 0x41;
  copy.writeUInt32LE(crc32(copy.subarray(entryStart, entryStart + n)), entryStart + n);
  writeFileSync(file, copy);
  assert.throws(
    () => verifyLedgerDirectory(dir, { serviceCertPem: id.serviceCert }),
    /entry 5 .*(signature|root)/,
  );
});

async function p256Ledger(
  signRoot?: (id: Identity) => (message: Uint8Array) => Uint8Array,
  curve: Curve = "P-256",
) {
  const dir = tempDir();
  const id = await makeIdentity(curve);
  if (signRoot !== undefined) id.signRoot = signRoot(id);
  await (await writeLedger(dir, id, 8, 4, options)).close();
  return { dir, id };
}

test("a ledger signed by a P-256 node key verifies in both verifiers (64-byte signatures)", async () => {
  const { dir, id } = await p256Ledger();
  const report = await bothVerifiers(dir, id.serviceCert);
  assert.ok(!(report instanceof Error), String(report));
  assert.equal(report.signatures, 2);
  const chunk = readFileSync(join(dir, readdirSync(dir).find((n) => n.endsWith(".chunk")) as string));
  const signature = /"signature":"([^"]+)"/.exec(chunk.toString("latin1"))?.[1] as string;
  assert.equal(Buffer.from(signature, "base64").length, 64);
});

test("hash and length come from the node certificate's curve, in both verifiers", async () => {
  const refused = async (ledger: { dir: string; id: Identity }, reason: RegExp) => {
    const result = await bothVerifiers(ledger.dir, ledger.id.serviceCert);
    assert.ok(result instanceof Error, `accepted; expected ${reason}`);
    assert.match(result.message, reason);
    assert.equal((result as Error & { code?: string }).code, "COTERIE_ERR_LEDGER_VERIFY_FAILED");
  };
  const p1363 = (key: KeyObject, hash: string) => (m: Uint8Array) =>
    sign(hash, m, { key, dsaEncoding: "ieee-p1363" });
  // A P-256 key signing with SHA-384: right length, wrong hash.
  await refused(await p256Ledger((id) => p1363(id.node.privateKey, "sha384")), /entry 5 .*does not verify/);
  // A P-256 certificate with a 96-byte (P-384 length) signature; a P-384 one with 64 bytes.
  const padded = (id: Identity) => (m: Uint8Array) =>
    Buffer.concat([p1363(id.node.privateKey, "sha256")(m), Buffer.alloc(32)]);
  await refused(await p256Ledger(padded), /entry 5 .*must be the base64 of 64 bytes for a P-256 node key/);
  const short = () => p1363(generateKeyPair("P-256").privateKey, "sha256");
  await refused(
    await p256Ledger(short, "P-384"),
    /entry 5 .*must be the base64 of 96 bytes for a P-384 node key/,
  );
});

test("a node certificate whose key is on another curve (P-521) is refused by both verifiers", async () => {
  const dir = tempDir();
  const id = await makeIdentity();
  const webKeys = await globalThis.crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-521" }, true, [
    "sign",
    "verify",
  ]);
  const service = await toCryptoKeyPair(id.service);
  const cert = await x509.X509CertificateGenerator.create({
    subject: "CN=p521 node",
    issuer: new x509.X509Certificate(id.serviceCert).subject,
    publicKey: webKeys.publicKey,
    signingKey: service.privateKey,
    signingAlgorithm: { name: "ECDSA", hash: "SHA-384" },
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 86_400_000),
  });
  const p521Private = KeyObject.from(webKeys.privateKey);
  id.nodeCert = cert.toString("pem");
  id.node = { privateKey: p521Private, publicKey: KeyObject.from(webKeys.publicKey) };
  id.signRoot = (m) => sign("sha512", m, { key: p521Private, dsaEncoding: "ieee-p1363" });
  await (await writeLedger(dir, id, 8, 4, options)).close();
  const result = await bothVerifiers(dir, id.serviceCert);
  assert.ok(result instanceof Error, "a P-521 node key is accepted");
  assert.match(result.message, /entry 5 .*node key must be ECDSA P-256 or P-384/);
});
