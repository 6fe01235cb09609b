// COSE Sign1 (RFC 9052): round trips with WebCrypto keys, detached payloads, strict decoding of
// hand-made CBOR, every single-byte corruption rejected, and interoperability with the independent
// cose-js library in both directions.
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { before, describe, test } from "node:test";
import {
  COSE_DECODE_LIMITS_DEFAULT,
  type CoseAlg,
  type CoseSigner,
  cryptoKeySigner,
  decodeCoseSign1,
  signCoseSign1,
  verifyCoseSign1,
} from "../../../src/crypto/cose.ts";
import { CoterieError, type ErrorCode } from "../../../src/util/errors.ts";

const require = createRequire(import.meta.url);
const cose = require("cose-js") as {
  sign: {
    create(
      headers: { p: object; u: object },
      payload: Buffer,
      signer: { key: { d: Buffer } },
    ): Promise<Buffer>;
    verify(message: Uint8Array, verifier: { key: { x: Buffer; y: Buffer } }): Promise<Buffer>;
  };
};

const subtle = globalThis.crypto.subtle;
type Keys = { pair: CryptoKeyPair; jwk: JsonWebKey; alg: CoseAlg };
const keys: Record<"es256" | "es384", Keys> = {} as never;
const kid = new TextEncoder().encode("member-0");
const payload = new TextEncoder().encode('{"actions":[{"name":"set_user","args":{}}]}');
const govHeaders = {
  "coterie.gov.msg.type": "proposal",
  "coterie.gov.msg.created_at": 1_763_780_000,
  "coterie.gov.msg.proposal_id": "a1b2",
};

before(async () => {
  for (const [name, curve, alg] of [
    ["es256", "P-256", -7],
    ["es384", "P-384", -35],
  ] as const) {
    const pair = (await subtle.generateKey({ name: "ECDSA", namedCurve: curve }, true, [
      "sign",
      "verify",
    ])) as CryptoKeyPair;
    keys[name] = { pair, jwk: await subtle.exportKey("jwk", pair.privateKey), alg };
  }
});

function code(e: unknown): ErrorCode {
  assert.ok(e instanceof CoterieError, `expected a CoterieError, got ${String(e)}`);
  return e.code;
}
function expectDecodeError(
  bytes: Uint8Array,
  expected: ErrorCode,
  limits = COSE_DECODE_LIMITS_DEFAULT,
): void {
  assert.throws(
    () => decodeCoseSign1(bytes, limits),
    (e: unknown) => code(e) === expected,
  );
}
async function expectVerifyError(p: Promise<unknown>, expected: ErrorCode): Promise<void> {
  await assert.rejects(p, (e: unknown) => code(e) === expected);
}
const b64url = (s: string | undefined) => Buffer.from(s!, "base64url");

describe("RFC 9052 §4.2 COSE_Sign1 round trip", () => {
  for (const name of ["es256", "es384"] as const) {
    test(`${name}: sign, decode, verify; headers come back as sent`, async () => {
      const k = keys[name];
      const signer = cryptoKeySigner(k.pair.privateKey, kid, k.alg);
      const msg = await signCoseSign1(
        signer,
        payload,
        new Map<number | string, string | number>([[3, "application/json"], ...Object.entries(govHeaders)]),
        {
          "coterie.note": "unprotected",
        },
      );
      const d = decodeCoseSign1(msg);
      assert.equal(d.alg, k.alg);
      assert.deepEqual(d.kid, kid);
      assert.deepEqual(d.payload, payload);
      assert.equal(d.protectedHeaders.get(3), "application/json");
      assert.equal(d.protectedHeaders.get("coterie.gov.msg.created_at"), 1_763_780_000);
      assert.equal(d.protectedHeaders.get("coterie.gov.msg.type"), "proposal");
      assert.equal(d.unprotectedHeaders.get("coterie.note"), "unprotected");
      assert.deepEqual([...d.protectedHeaders.keys()].slice(0, 2), [1, 4], "alg and kid come first");
      await verifyCoseSign1(d, k.pair.publicKey);
      await verifyCoseSign1(d, { kty: "EC", crv: k.jwk.crv!, x: k.jwk.x!, y: k.jwk.y! });
      await verifyCoseSign1(d, new Uint8Array(await subtle.exportKey("spki", k.pair.publicKey)));
    });
  }

  test("integers beyond 2^32 stay integers (cbor-x would write floats)", async () => {
    const signer = cryptoKeySigner(keys.es256.pair.privateKey, kid, -7);
    const msg = await signCoseSign1(signer, payload, {
      "coterie.gov.msg.created_at": 2 ** 40 + 1,
      neg: -(2 ** 33),
    });
    const d = decodeCoseSign1(msg);
    assert.equal(d.protectedHeaders.get("coterie.gov.msg.created_at"), 2 ** 40 + 1);
    assert.equal(d.protectedHeaders.get("neg"), -(2 ** 33));
    assert.ok(
      Buffer.from(d.protectedBytes).includes(Buffer.from("1b0000010000000001", "hex")),
      "uint64 major type 0",
    );
  });

  test("detached payload: nil in the message, given to verify", async () => {
    const signer = cryptoKeySigner(keys.es384.pair.privateKey, kid, -35);
    const msg = await signCoseSign1(signer, payload, govHeaders, {}, { detached: true });
    const d = decodeCoseSign1(msg);
    assert.equal(d.payload, null);
    await verifyCoseSign1(d, keys.es384.pair.publicKey, { detachedPayload: payload });
    await expectVerifyError(verifyCoseSign1(d, keys.es384.pair.publicKey), "COTERIE_ERR_COSE_MALFORMED");
    await expectVerifyError(
      verifyCoseSign1(d, keys.es384.pair.publicKey, { detachedPayload: new Uint8Array([1]) }),
      "COTERIE_ERR_COSE_BAD_SIGNATURE",
    );
    const attached = decodeCoseSign1(await signCoseSign1(signer, payload, govHeaders));
    await expectVerifyError(
      verifyCoseSign1(attached, keys.es384.pair.publicKey, { detachedPayload: payload }),
      "COTERIE_ERR_COSE_MALFORMED",
    );
  });

  test("external AAD is bound into the signature", async () => {
    const signer = cryptoKeySigner(keys.es256.pair.privateKey, kid, -7);
    const aad = new TextEncoder().encode("/gov/proposals");
    const d = decodeCoseSign1(await signCoseSign1(signer, payload, govHeaders, {}, { externalAad: aad }));
    await verifyCoseSign1(d, keys.es256.pair.publicKey, { externalAad: aad });
    await expectVerifyError(verifyCoseSign1(d, keys.es256.pair.publicKey), "COTERIE_ERR_COSE_BAD_SIGNATURE");
  });

  test("wrong keys: another key fails the signature, another curve is refused", async () => {
    const d = decodeCoseSign1(
      await signCoseSign1(cryptoKeySigner(keys.es256.pair.privateKey, kid, -7), payload),
    );
    const other = (await subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
      "sign",
      "verify",
    ])) as CryptoKeyPair;
    await expectVerifyError(verifyCoseSign1(d, other.publicKey), "COTERIE_ERR_COSE_BAD_SIGNATURE");
    await expectVerifyError(
      verifyCoseSign1(d, keys.es384.pair.publicKey),
      "COTERIE_ERR_COSE_UNSUPPORTED_ALG",
    );
    await expectVerifyError(
      verifyCoseSign1(d, { kty: "OKP", crv: "Ed25519", x: "AA" }),
      "COTERIE_ERR_COSE_UNSUPPORTED_ALG",
    );
    await expectVerifyError(
      verifyCoseSign1(d, new Uint8Array([1, 2, 3])),
      "COTERIE_ERR_COSE_UNSUPPORTED_ALG",
    );
  });

  test("a custom signer (external command, HSM) plugs in; bad output is refused", async () => {
    const external: CoseSigner = {
      alg: -7,
      kid,
      sign: async (tbs) =>
        new Uint8Array(
          await subtle.sign(
            { name: "ECDSA", hash: "SHA-256" },
            keys.es256.pair.privateKey,
            tbs as Uint8Array<ArrayBuffer>,
          ),
        ),
    };
    await verifyCoseSign1(decodeCoseSign1(await signCoseSign1(external, payload)), keys.es256.pair.publicKey);
    const short: CoseSigner = { ...external, sign: async () => new Uint8Array(63) };
    await assert.rejects(signCoseSign1(short, payload), TypeError);
    await assert.rejects(signCoseSign1(external, payload, new Map([[1, -35]])), TypeError);
    await assert.rejects(
      signCoseSign1({ ...external, alg: -8 as CoseAlg }, payload),
      (e) => code(e) === "COTERIE_ERR_COSE_UNSUPPORTED_ALG",
    );
    assert.throws(() => cryptoKeySigner(keys.es256.pair.privateKey, kid, -35), TypeError);
  });

  test("every single-byte corruption of a message is rejected", async () => {
    const msg = await signCoseSign1(
      cryptoKeySigner(keys.es256.pair.privateKey, kid, -7),
      payload,
      govHeaders,
    );
    for (let i = 0; i < msg.length; i++) {
      for (const mask of [0x01, 0x80]) {
        const bad = new Uint8Array(msg);
        bad[i]! ^= mask;
        let accepted = false;
        try {
          await verifyCoseSign1(decodeCoseSign1(bad), keys.es256.pair.publicKey);
          accepted = true;
        } catch (e) {
          assert.ok(e instanceof CoterieError, `byte ${i}: ${String(e)}`);
        }
        assert.ok(!accepted, `byte ${i} ^ ${mask} was accepted`);
      }
    }
  });
});

// --- a tiny CBOR writer for hand-made malformed messages -----------------------------------------
const cat = (...parts: Uint8Array[]) => new Uint8Array(Buffer.concat(parts));
function head(major: number, n: number): Uint8Array {
  if (n < 24) return new Uint8Array([(major << 5) | n]);
  if (n < 256) return new Uint8Array([(major << 5) | 24, n]);
  return new Uint8Array([(major << 5) | 25, n >> 8, n & 0xff]);
}
const int = (n: number) => (n >= 0 ? head(0, n) : head(1, -1 - n));
const bstr = (b: Uint8Array) => cat(head(2, b.length), b);
const tstr = (s: string) => bstr(new TextEncoder().encode(s)).map((x, i) => (i === 0 ? x + 0x20 : x));
const map = (...pairs: Uint8Array[][]) => cat(head(5, pairs.length), ...pairs.flat());
const arr = (...items: Uint8Array[]) => cat(head(4, items.length), ...items);
const tag18 = (body: Uint8Array) => cat(new Uint8Array([0xd2]), body);
const NIL = new Uint8Array([0xf6]);
const SIG64 = bstr(new Uint8Array(64));
const PROT = bstr(map([int(1), int(-7)], [int(4), bstr(kid)]));
const sign1 = (prot = PROT, unprot = map(), pl = bstr(payload), sig = SIG64) =>
  tag18(arr(prot, unprot, pl, sig));

describe("RFC 9052 strict decoding", () => {
  test("the hand-made baseline decodes (so each case below tests one change)", () => {
    const d = decodeCoseSign1(sign1());
    assert.equal(d.alg, -7);
    assert.deepEqual(d.kid, kid);
    assert.equal(decodeCoseSign1(sign1(PROT, map(), NIL)).payload, null, "nil payload = detached");
  });

  const malformedCases: [string, Uint8Array, RegExp][] = [
    ["trailing byte", cat(sign1(), new Uint8Array([0])), /trailing bytes after/],
    ["no tag", arr(PROT, map(), bstr(payload), SIG64), /not a COSE_Sign1/],
    ["COSE_Sign tag 98", cat(new Uint8Array([0xd8, 98]), arr(PROT, map(), bstr(payload), SIG64)), /tag 98/],
    ["tag 17 (COSE_Mac0)", cat(new Uint8Array([0xd1]), arr(PROT, map(), bstr(payload), SIG64)), /tag 17/],
    ["array of 3", tag18(arr(PROT, map(), bstr(payload))), /array of 4/],
    ["protected as a map", sign1(map([int(1), int(-7)])), /must be a byte string/],
    [
      "protected bstr with trailing bytes",
      sign1(bstr(cat(map([int(1), int(-7)]), int(0)))),
      /trailing bytes in the protected/,
    ],
    ["protected bstr holding an array", sign1(bstr(arr(int(1)))), /encode a map/],
    ["duplicate protected label", sign1(bstr(map([int(1), int(-7)], [int(1), int(-7)]))), /duplicate/],
    [
      "duplicate text label",
      sign1(bstr(map([int(1), int(-7)], [tstr("x"), int(1)], [tstr("x"), int(2)]))),
      /duplicate/,
    ],
    ["duplicate unprotected label", sign1(PROT, map([tstr("a"), int(1)], [tstr("a"), int(1)])), /duplicate/],
    ["label in both buckets", sign1(PROT, map([int(4), bstr(kid)])), /both protected and unprotected/],
    [
      "alg in unprotected",
      sign1(bstr(map([int(4), bstr(kid)])), map([int(1), int(-7)])),
      /alg must be protected/,
    ],
    [
      "crit header",
      sign1(bstr(map([int(1), int(-7)], [int(2), arr(tstr("x"))], [tstr("x"), int(1)]))),
      /crit/,
    ],
    ["kid not bytes", sign1(bstr(map([int(1), int(-7)], [int(4), tstr("member")]))), /kid must/],
    ["content type not text/uint", sign1(bstr(map([int(1), int(-7)], [int(3), bstr(kid)]))), /content type/],
    ["payload as text", sign1(PROT, map(), tstr("hello")), /payload must/],
    ["signature as text", sign1(PROT, map(), bstr(payload), tstr("sig")), /signature must/],
    ["unprotected as array", sign1(PROT, arr()), /unprotected header must/],
    ["map key that is an array", sign1(PROT, map([arr(), int(1)])), /map keys/],
    [
      "indefinite-length payload",
      sign1(PROT, map(), cat(new Uint8Array([0x5f, 0x41, 0x00, 0xff]))),
      /indefinite/,
    ],
    ["non-shortest integer", sign1(bstr(map([int(1), new Uint8Array([0x38, 0x06])]))), /shortest/],
    ["non-shortest length", sign1(PROT, map(), cat(new Uint8Array([0x58, 0x01, 0x00]))), /shortest/],
    ["invalid UTF-8 label", sign1(PROT, map([cat(new Uint8Array([0x62, 0xc3, 0x28])), int(1)])), /UTF-8/],
    ["nested tag", sign1(PROT, map([tstr("t"), cat(new Uint8Array([0xc1]), int(0))])), /tag 1 /],
    ["undefined value", sign1(PROT, map([tstr("u"), new Uint8Array([0xf7])])), /simple values/],
    ["reserved additional info", sign1(PROT, map([tstr("r"), new Uint8Array([0x1c])])), /reserved/],
    ["truncated", sign1().subarray(0, 40), /past the end|end of CBOR/],
    ["empty input", new Uint8Array(0), /end of CBOR/],
  ];
  for (const [name, bytes, reason] of malformedCases) {
    test(`malformed: ${name}`, () => {
      assert.throws(() => decodeCoseSign1(bytes), { code: "COTERIE_ERR_COSE_MALFORMED", message: reason });
    });
  }

  test("unsupported or missing alg: COTERIE_ERR_COSE_UNSUPPORTED_ALG", () => {
    expectDecodeError(sign1(bstr(map([int(1), int(-8)]))), "COTERIE_ERR_COSE_UNSUPPORTED_ALG");
    expectDecodeError(sign1(bstr(map([int(1), tstr("ES256")]))), "COTERIE_ERR_COSE_UNSUPPORTED_ALG");
    expectDecodeError(sign1(bstr(new Uint8Array(0))), "COTERIE_ERR_COSE_UNSUPPORTED_ALG");
  });

  test("limits are parameters: size, header entries, depth, items", () => {
    const msg = sign1();
    expectDecodeError(msg, "COTERIE_ERR_COSE_MALFORMED", {
      ...COSE_DECODE_LIMITS_DEFAULT,
      messageBytesMax: msg.length - 1,
    });
    decodeCoseSign1(msg, { ...COSE_DECODE_LIMITS_DEFAULT, messageBytesMax: msg.length });
    const many = sign1(PROT, map(...Array.from({ length: 5 }, (_, i) => [tstr(`h${i}`), int(i)])));
    expectDecodeError(many, "COTERIE_ERR_COSE_MALFORMED", {
      ...COSE_DECODE_LIMITS_DEFAULT,
      headerEntriesMax: 4,
    });
    decodeCoseSign1(many, { ...COSE_DECODE_LIMITS_DEFAULT, headerEntriesMax: 5 });
    let deep = int(0);
    for (let i = 0; i < 9; i++) deep = arr(deep);
    expectDecodeError(sign1(PROT, map([tstr("d"), deep])), "COTERIE_ERR_COSE_MALFORMED");
    const wide = sign1(PROT, map([tstr("w"), arr(...Array.from({ length: 100 }, () => int(0)))]));
    expectDecodeError(wide, "COTERIE_ERR_COSE_MALFORMED", { ...COSE_DECODE_LIMITS_DEFAULT, itemsMax: 50 });
    decodeCoseSign1(wide);
  });
});

describe("interoperability with cose-js (independent implementation)", () => {
  for (const [name, coseAlg] of [
    ["es256", "ES256"],
    ["es384", "ES384"],
  ] as const) {
    test(`${name}: our messages verify in cose-js`, async () => {
      const k = keys[name];
      const msg = await signCoseSign1(cryptoKeySigner(k.pair.privateKey, kid, k.alg), payload, {
        ...govHeaders,
        "coterie.gov.msg.created_at": 1_763_780_000,
      });
      const verified = await cose.sign.verify(msg, { key: { x: b64url(k.jwk.x), y: b64url(k.jwk.y) } });
      assert.deepEqual(new Uint8Array(verified), payload);
      const bad = new Uint8Array(msg);
      bad[bad.length - 1]! ^= 1;
      await assert.rejects(cose.sign.verify(bad, { key: { x: b64url(k.jwk.x), y: b64url(k.jwk.y) } }));
    });

    test(`${name}: cose-js messages verify with ours`, async () => {
      const k = keys[name];
      const msg = await cose.sign.create(
        { p: { alg: coseAlg, kid: "member-0", ctyp: 0 }, u: {} },
        Buffer.from(payload),
        { key: { d: b64url(k.jwk.d) } },
      );
      const d = decodeCoseSign1(new Uint8Array(msg));
      assert.equal(d.alg, k.alg);
      assert.deepEqual(d.kid, kid);
      assert.equal(d.protectedHeaders.get(3), 0);
      await verifyCoseSign1(d, k.pair.publicKey);
      const signOnly = (await subtle.generateKey({ name: "ECDSA", namedCurve: k.jwk.crv! }, true, [
        "sign",
      ])) as CryptoKeyPair;
      await assert.rejects(verifyCoseSign1(d, signOnly.publicKey), TypeError);
      const other = (await subtle.generateKey({ name: "ECDSA", namedCurve: k.jwk.crv! }, true, [
        "sign",
        "verify",
      ])) as CryptoKeyPair;
      await expectVerifyError(verifyCoseSign1(d, other.publicKey), "COTERIE_ERR_COSE_BAD_SIGNATURE");
    });
  }
});
