import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import {
  decodeEntry,
  EntryKind,
  encodeEntry,
  HEADER_BYTES,
  leafOf,
  privateWritesOf,
  publicWritesOf,
} from "../../../src/ledger/entry.ts";
import { decodeWriteSet, encodeWriteSet } from "../../../src/ledger/write-set-codec.ts";
import { enc, testSecret } from "./helpers.ts";

const input = {
  kind: EntryKind.transaction,
  view: 3,
  seqno: 42,
  publicWrites: [
    {
      name: "public:a",
      writes: [
        { key: enc("k"), value: enc("v") },
        { key: enc("z"), value: null },
      ],
    },
  ],
  privateWrites: [{ name: "secret", writes: [{ key: enc("k"), value: enc("very private") }] }],
  claimsDigest: randomBytes(32),
  commitEvidenceDigest: randomBytes(32),
};

test("an entry round-trips: header, public and decrypted private write sets, trailer", () => {
  const e = encodeEntry(input, testSecret);
  const d = decodeEntry(e.bytes);
  assert.equal(d.header.view, 3);
  assert.equal(d.header.seqno, 42);
  assert.deepEqual(
    publicWritesOf(d),
    input.publicWrites.map((m) => ({
      ...m,
      writes: m.writes.map((w) => ({ key: Buffer.from(w.key), value: w.value && Buffer.from(w.value) })),
    })),
  );
  assert.equal(
    Buffer.from(privateWritesOf(d, testSecret)[0]?.writes[0]?.value as Uint8Array).toString(),
    "very private",
  );
  assert.deepEqual(leafOf(d), e.leaf);
  assert.deepEqual(Buffer.from(d.claimsDigest), Buffer.from(input.claimsDigest));
});

test("header fields above 2^32 are written as the u64le the format names, and read back", () => {
  const big = { ...input, view: 2 ** 32 - 1, seqno: 2 ** 45 + 7 };
  const secret = { ...testSecret, version: 2 ** 40 + 3 };
  const e = encodeEntry(big, secret);
  const d = decodeEntry(e.bytes);
  assert.deepEqual(
    [d.header.view, d.header.seqno, d.header.secretVersion],
    [2 ** 32 - 1, 2 ** 45 + 7, 2 ** 40 + 3],
  );
  assert.equal(e.bytes.readBigUInt64LE(16), BigInt(2 ** 45 + 7));
  assert.equal(e.bytes.readBigUInt64LE(32), BigInt(2 ** 40 + 3));
  // The private section's nonce is u32le(view) ‖ u64le(seqno), and the entry still decrypts.
  const nonce = d.privateSection.subarray(0, 12);
  assert.equal(nonce.readUInt32LE(0), 2 ** 32 - 1);
  assert.equal(nonce.readBigUInt64LE(4), BigInt(2 ** 45 + 7));
  assert.equal(privateWritesOf(d, secret)[0]?.name, "secret");
});

test("private data does not appear in plaintext in the entry", () => {
  const e = encodeEntry(input, testSecret);
  assert.equal(e.bytes.includes(Buffer.from("very private")), false);
  assert.equal(e.bytes.includes(Buffer.from("public:a")), true);
});

test("a wrong secret, or any flipped byte of the header or private section, fails decryption", () => {
  const e = encodeEntry(input, testSecret);
  assert.throws(() => privateWritesOf(decodeEntry(e.bytes), { version: 0, key: randomBytes(32) }), {
    code: "COTERIE_ERR_LEDGER_DECRYPT",
  });
  const d = decodeEntry(e.bytes);
  const privateStart = HEADER_BYTES + d.header.publicBytes + 12; // past the nonce
  for (const offset of [36, privateStart, privateStart + 5, e.bytes.length - 64 - 1]) {
    const copy = Buffer.from(e.bytes);
    copy[offset] = (copy[offset] as number) ^ 1;
    assert.throws(
      () => privateWritesOf(decodeEntry(copy), testSecret),
      { code: "COTERIE_ERR_LEDGER_DECRYPT" },
      `byte ${offset}`,
    );
  }
});

test("entries without private writes carry no private section and need no secret", () => {
  const e = encodeEntry({ ...input, privateWrites: [] }, null);
  const d = decodeEntry(e.bytes);
  assert.equal(d.header.privateBytes, 0);
  assert.deepEqual(privateWritesOf(d, testSecret), []);
});

test("malformed entries are refused with COTERIE_ERR_LEDGER_MALFORMED, never misread", () => {
  const e = encodeEntry(input, testSecret);
  const cases: Buffer[] = [
    e.bytes.subarray(0, 10),
    e.bytes.subarray(0, e.bytes.length - 1),
    Buffer.concat([e.bytes, Buffer.from([0])]),
  ];
  const badVersion = Buffer.from(e.bytes);
  badVersion[0] = 9;
  const badKind = Buffer.from(e.bytes);
  badKind[1] = 7;
  const badLen = Buffer.from(e.bytes);
  badLen.writeUInt32LE(1_000_000, 4);
  for (const c of [...cases, badVersion, badKind, badLen]) {
    assert.throws(() => decodeEntry(c), { code: "COTERIE_ERR_LEDGER_MALFORMED" });
  }
});

test("write-set decoding refuses truncation and trailing bytes at every length", () => {
  const ws = encodeWriteSet(input.publicWrites);
  assert.deepEqual(decodeWriteSet(ws).length, 1);
  for (let n = 0; n < ws.length; n++) {
    assert.throws(
      () => decodeWriteSet(ws.subarray(0, n)),
      { code: "COTERIE_ERR_LEDGER_MALFORMED" },
      `length ${n}`,
    );
  }
  assert.throws(() => decodeWriteSet(Buffer.concat([ws, Buffer.from([1])])), {
    code: "COTERIE_ERR_LEDGER_MALFORMED",
  });
});

test("a private section whose nonce is not the entry's own is refused before decryption", () => {
  // Each of the nonce's three 32-bit words: the view, and the seqno's low and high halves.
  for (const seqno of [42, 2 ** 40 + 3]) {
    const e = encodeEntry({ ...input, seqno }, testSecret);
    const nonceAt = HEADER_BYTES + decodeEntry(e.bytes).header.publicBytes;
    for (const offset of [0, 4, 8, 11]) {
      const copy = Buffer.from(e.bytes);
      copy[nonceAt + offset] = (copy[nonceAt + offset] as number) ^ 1;
      assert.throws(
        () => privateWritesOf(decodeEntry(copy), testSecret),
        { code: "COTERIE_ERR_LEDGER_MALFORMED", message: /nonce does not match/ },
        `seqno ${seqno}, nonce byte ${offset}`,
      );
    }
    assert.equal(privateWritesOf(decodeEntry(e.bytes), testSecret).length, input.privateWrites.length);
  }
});
