// Authentication policies added for apps: JWT (RS256, ES256; exp, nbf, iss, aud; kid), user
// COSE Sign1 requests, and all_of combinations, against a real Store holding governance's tables.
import assert from "node:assert/strict";
import { generateKeyPairSync, type KeyObject, sign } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { describe, test } from "node:test";
import { cryptoKeySigner, signCoseSign1 } from "../../../src/crypto/cose.ts";
import { generateKeyPair, toCryptoKeyPair } from "../../../src/crypto/keys.ts";
import { certificateId, createSelfSignedCertificate } from "../../../src/crypto/x509.ts";
import { Store } from "../../../src/kv/index.ts";
import { authenticate } from "../../../src/node/auth.ts";
import { jwtAuthenticator } from "../../../src/node/auth-jwt.ts";
import { userCoseAuthenticator } from "../../../src/node/auth-user-cose.ts";
import { jwtIssuers } from "../../../src/tables/governance.ts";
import { userCerts, userInfo } from "../../../src/tables/identities.ts";

const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
const ec = generateKeyPairSync("ec", { namedCurve: "P-256" });
const other = generateKeyPairSync("ec", { namedCurve: "P-256" });
// EC keys an issuer may list whose curve ES256 does not allow (RFC 7518 §3.4: P-256 only).
const k1 = generateKeyPairSync("ec", { namedCurve: "secp256k1" });
const p384 = generateKeyPairSync("ec", { namedCurve: "P-384" });
const b64u = (x: unknown) => Buffer.from(typeof x === "string" ? x : JSON.stringify(x)).toString("base64url");
const now = () => Math.floor(Date.now() / 1000);

function jwt(alg: "RS256" | "ES256", key: KeyObject, claims: Record<string, unknown>, kid?: string): string {
  const head = `${b64u({ alg, typ: "JWT", ...(kid ? { kid } : {}) })}.${b64u(claims)}`;
  const sig =
    alg === "RS256"
      ? sign("sha256", Buffer.from(head), key)
      : sign("sha256", Buffer.from(head), { key, dsaEncoding: "ieee-p1363" });
  return `${head}.${sig.toString("base64url")}`;
}

function storeWithIssuer(): Store {
  const store = new Store();
  const tx = store.beginTx();
  jwtIssuers.in(tx).put("https://idp", {
    jwks: {
      keys: [
        { ...rsa.publicKey.export({ format: "jwk" }), kid: "r1" },
        { ...ec.publicKey.export({ format: "jwk" }), kid: "e1" },
        { ...k1.publicKey.export({ format: "jwk" }), kid: "k1" },
        { ...p384.publicKey.export({ format: "jwk" }), kid: "p384" },
      ],
    },
    audience: "coterie",
  });
  jwtIssuers.in(tx).put("https://noaud", {
    jwks: { keys: [ec.publicKey.export({ format: "jwk" }) as Record<string, unknown>] },
  });
  store.commit(tx);
  return store;
}

const req = (headers: Record<string, string>) => ({ headers }) as unknown as IncomingMessage;
const input = (store: Store, headers: Record<string, string>, body: Uint8Array = new Uint8Array(0)) => ({
  tx: store.beginTx(),
  certId: null,
  req: req(headers),
  body,
});

describe("jwt policy", () => {
  const store = storeWithIssuer();
  const good = { iss: "https://idp", aud: "coterie", sub: "alice", exp: now() + 60, party: "r-x" };
  const check = (token: string) => jwtAuthenticator(input(store, { authorization: `Bearer ${token}` }));

  test("RS256 and ES256 tokens of a trusted issuer are admitted with their claims", () => {
    const a = check(jwt("RS256", rsa.privateKey, good, "r1"));
    assert.deepEqual(a && a.policy === "jwt" && [a.issuer, a.subject, a.claims.party], [
      "https://idp",
      "alice",
      "r-x",
    ]);
    assert.ok(check(jwt("ES256", ec.privateKey, good, "e1")));
    assert.ok(check(jwt("ES256", ec.privateKey, good)), "no kid: every key of the issuer is tried");
    assert.ok(check(jwt("ES256", ec.privateKey, { ...good, aud: ["x", "coterie"] })));
    assert.ok(
      check(jwt("ES256", ec.privateKey, { iss: "https://noaud", exp: now() + 60 })),
      "issuer without audience",
    );
  });

  const refused: Array<[string, () => string]> = [
    ["expired", () => jwt("ES256", ec.privateKey, { ...good, exp: now() - 120 })],
    ["no exp", () => jwt("ES256", ec.privateKey, { ...good, exp: undefined })],
    ["not yet valid", () => jwt("ES256", ec.privateKey, { ...good, nbf: now() + 600 })],
    ["wrong audience", () => jwt("ES256", ec.privateKey, { ...good, aud: "other" })],
    ["unknown issuer", () => jwt("ES256", ec.privateKey, { ...good, iss: "https://evil" })],
    ["untrusted key", () => jwt("ES256", other.privateKey, good)],
    ["kid of another key", () => jwt("ES256", ec.privateKey, good, "r1")],
    // r ‖ s of secp256k1 is 64 bytes, as ES256's; only the key's curve tells them apart.
    ["ES256 by a secp256k1 key of the issuer", () => jwt("ES256", k1.privateKey, good, "k1")],
    ["ES256 by a secp256k1 key, no kid", () => jwt("ES256", k1.privateKey, good)],
    ["ES256 by a P-384 key of the issuer", () => jwt("ES256", p384.privateKey, good, "p384")],
    ["alg none", () => `${b64u({ alg: "none" })}.${b64u(good)}.`],
    ["HS256", () => `${b64u({ alg: "HS256" })}.${b64u(good)}.${b64u("x")}`],
    [
      "tampered claims",
      () => {
        const [h, , s] = jwt("ES256", ec.privateKey, good).split(".");
        return `${h}.${b64u({ ...good, party: "s-a" })}.${s}`;
      },
    ],
    ["garbage", () => "a.b"],
  ];
  for (const [why, make] of refused) test(`refuses a token: ${why}`, () => assert.equal(check(make()), null));
  test("no Bearer header: the policy does not apply", () =>
    assert.equal(jwtAuthenticator(input(store, {})), null));
});

describe("user_cose_sign1 policy and all_of", async () => {
  const pair = generateKeyPair("P-384");
  const keys = await toCryptoKeyPair(pair);
  const cert = await createSelfSignedCertificate(pair, { subject: "CN=user", validityDays: 1, ca: false });

  test("a body signed by a registered user's key is admitted; its payload is returned", async () => {
    const store = new Store();
    const id = certificateId(cert);
    const tx = store.beginTx();
    userCerts.in(tx).put(id, cert);
    userInfo.in(tx).put(id, { user_data: { party: "r-x" } });
    store.commit(tx);
    const payload = new Uint8Array(new TextEncoder().encode(`{"a":1}`));
    const signed = await signCoseSign1(
      cryptoKeySigner(keys.privateKey, Buffer.from(id, "hex"), -35),
      payload,
    );
    const a = userCoseAuthenticator(input(store, { "content-type": "application/cose" }, signed));
    assert.ok(a !== null && a.policy === "user_cose_sign1");
    assert.deepEqual(a.payload, payload);
    assert.deepEqual(a.data, { party: "r-x" });
    const tampered = new Uint8Array(signed);
    tampered[tampered.length - 1] = (tampered[tampered.length - 1] as number) ^ 1;
    assert.equal(userCoseAuthenticator(input(store, { "content-type": "application/cose" }, tampered)), null);
    assert.equal(userCoseAuthenticator(input(store, { "content-type": "application/json" }, signed)), null);
    const stranger = await signCoseSign1(cryptoKeySigner(keys.privateKey, new Uint8Array(32), -35), payload);
    assert.equal(userCoseAuthenticator(input(store, { "content-type": "application/cose" }, stranger)), null);
  });

  test("all_of admits only when every policy does; authenticate tries entries in order", () => {
    const store = storeWithIssuer();
    const token = jwt("ES256", ec.privateKey, { iss: "https://idp", aud: "coterie", exp: now() + 60 });
    const base = { certId: null, req: req({ authorization: `Bearer ${token}` }), body: new Uint8Array(0) };
    assert.throws(
      () => authenticate(store, base, [{ all_of: ["user_cert", "jwt"] }]),
      /COTERIE_ERR_UNAUTHENTICATED|all_of\(user_cert \+ jwt\)/,
    );
    const c = authenticate(store, base, [{ all_of: ["user_cert", "jwt"] }, "jwt"]);
    assert.equal(c.policy, "jwt");
    const both = authenticate(store, base, [{ all_of: ["jwt", "no_auth"] as never }]);
    assert.equal(both.policy, "all_of");
  });
});

describe("user_cert policy", () => {
  const admitted = (store: Store, certId: string) => {
    try {
      return authenticate(store, { certId, req: req({}), body: new Uint8Array(0) }, ["user_cert"]);
    } catch {
      return null;
    }
  };
  const put = (store: Store, certId: string, data: unknown) => {
    const tx = store.beginTx();
    userCerts.in(tx).put(certId, "pem");
    userInfo.in(tx).put(certId, { user_data: data });
    store.commit(tx);
  };

  test("verdicts follow the users tables on every request: added, data changed, removed", () => {
    const store = new Store();
    assert.equal(admitted(store, "u1"), null);
    put(store, "u1", { role: "a" });
    assert.deepEqual(admitted(store, "u1"), { policy: "user_cert", id: "u1", data: { role: "a" } });
    put(store, "u1", { role: "b" });
    assert.deepEqual(admitted(store, "u1"), { policy: "user_cert", id: "u1", data: { role: "b" } });
    const tx = store.beginTx();
    userCerts.in(tx).delete("u1");
    store.commit(tx);
    assert.equal(admitted(store, "u1"), null, "a removed user is refused on the next request");
  });

  test("each request gets its own copy of the user data", () => {
    const store = new Store();
    put(store, "u2", { tags: ["x"] });
    const first = admitted(store, "u2");
    assert.ok(first?.policy === "user_cert");
    (first.data as { tags: string[] }).tags.push("changed by a handler");
    assert.deepEqual(admitted(store, "u2"), { policy: "user_cert", id: "u2", data: { tags: ["x"] } });
  });
});
