// `ledger verify` must catch a flipped byte in every part of an entry and name where it is.
import assert from "node:assert/strict";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { crc32 } from "node:zlib";
import { CHUNK_HEADER_BYTES } from "../../../src/ledger/chunk-format.ts";
import { HEADER_BYTES } from "../../../src/ledger/entry.ts";
import { verifyLedgerDirectory } from "../../../src/ledger/verify.ts";
import { makeIdentity, tempDir, writeLedger } from "./helpers.ts";

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
