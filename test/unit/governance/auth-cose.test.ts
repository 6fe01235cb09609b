// The member_cose_sign1 authenticator: a good request admits the member; stale and replayed
// requests, bad signatures, malformed headers each get their own code; a request that is not COSE
// or whose kid names no member is left to other policies (401). A ballot signed by cose-js, an
// independent COSE implementation, is accepted.
import assert from "node:assert/strict";
import { createPrivateKey } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { createRequire } from "node:module";
import { after, before, describe, test } from "node:test";
import { type CoseLabel, type CoseValue, signCoseSign1 } from "../../../src/crypto/cose.ts";
import type { AuthInput } from "../../../src/node/auth.ts";
import { authenticateMemberCose, GOV_REQUEST_WINDOW_S_DEFAULT } from "../../../src/node/auth-cose.ts";
import { type Gov, makeGov, makeMember, yes } from "./fixture.ts";
import { memberKid, pemSigner, recordRequest, signGovRequest } from "./imports.ts";

const require = createRequire(import.meta.url);
const cose = require("cose-js") as {
  sign: {
    create(
      headers: { p: object; u: object },
      payload: Buffer,
      signer: { key: { d: Buffer } },
    ): Promise<Buffer>;
  };
  common: { HeaderParameters: Record<string, string | number> };
};

const proposalId = "12".repeat(32);

function input(gov: Gov, body: Uint8Array, contentType = "application/cose"): AuthInput {
  return {
    tx: gov.store.beginTx(),
    certId: null,
    req: { headers: { "content-type": contentType } } as unknown as IncomingMessage,
    body,
  };
}

const code = (c: string) => (e: unknown) => (e as { code?: string }).code === c;

describe("member_cose_sign1 authenticator", () => {
  let gov: Gov;
  before(async () => {
    gov = await makeGov(1);
  });
  after(() => gov.dispose());
  const sign = (o: { createdAt?: number; type?: "ballot" | "proposal" } = {}) =>
    signGovRequest({
      signer: pemSigner(gov.members[0]!.certPem, gov.members[0]!.keyPem),
      type: o.type ?? "ballot",
      payload: yes,
      ...(o.type === "proposal" ? {} : { proposalId }),
      ...(o.createdAt === undefined ? {} : { createdAt: o.createdAt }),
    });

  test("admits a fresh request signed by a member", async () => {
    const caller = authenticateMemberCose(input(gov, await sign()));
    assert.equal(caller?.policy, "member_cose_sign1");
    if (caller?.policy !== "member_cose_sign1") return;
    assert.equal(caller.id, gov.members[0]!.id);
    assert.equal(caller.request.type, "ballot");
    assert.equal(caller.request.proposalId, proposalId);
    assert.equal(new TextDecoder().decode(caller.request.payload), yes);
  });

  test("stale: created_at outside the window either way", async () => {
    const now = Date.now();
    const nowS = Math.floor(now / 1000);
    const edge = await sign({ createdAt: nowS - GOV_REQUEST_WINDOW_S_DEFAULT });
    assert.ok(authenticateMemberCose(input(gov, edge), now), "exactly at the window edge is accepted");
    for (const createdAt of [
      nowS - GOV_REQUEST_WINDOW_S_DEFAULT - 1,
      nowS + GOV_REQUEST_WINDOW_S_DEFAULT + 1,
      0,
    ]) {
      const body = await sign({ createdAt });
      assert.throws(
        () => authenticateMemberCose(input(gov, body), now),
        code("COTERIE_ERR_GOV_REQUEST_STALE"),
      );
    }
  });

  test("replayed: the same bytes after they were recorded", async () => {
    const body = await sign();
    const caller = authenticateMemberCose(input(gov, body));
    assert.ok(caller?.policy === "member_cose_sign1");
    gov.run((tx, ctx) => recordRequest(tx, { memberId: caller.id, ...caller.request, type: "ballot" }, ctx));
    assert.throws(() => authenticateMemberCose(input(gov, body)), code("COTERIE_ERR_GOV_REQUEST_REPLAYED"));
  });

  test("a flipped signature byte, or a flipped payload byte, is a bad signature", async () => {
    const body = await sign();
    const badSig = new Uint8Array(body);
    badSig[badSig.length - 1]! ^= 1;
    assert.throws(() => authenticateMemberCose(input(gov, badSig)), code("COTERIE_ERR_COSE_BAD_SIGNATURE"));
    const text = Buffer.from(body).toString("latin1").replace("return true", "return fals");
    assert.throws(
      () => authenticateMemberCose(input(gov, Buffer.from(text, "latin1"))),
      code("COTERIE_ERR_COSE_BAD_SIGNATURE"),
    );
  });

  test("a non-member's request is left to other policies (401); so is a non-COSE body", async () => {
    const stranger = await makeMember("stranger");
    const body = await signGovRequest({
      signer: pemSigner(stranger.certPem, stranger.keyPem),
      type: "proposal",
      payload: "{}",
    });
    assert.equal(authenticateMemberCose(input(gov, body)), null);
    assert.equal(authenticateMemberCose(input(gov, await sign(), "application/json")), null);
  });

  test("missing or contradictory governance headers are malformed", async () => {
    const signer = pemSigner(gov.members[0]!.certPem, gov.members[0]!.keyPem);
    const now = Math.floor(Date.now() / 1000);
    const variants: Array<Map<CoseLabel, CoseValue>> = [
      new Map<CoseLabel, CoseValue>([["coterie.gov.msg.created_at", now]]),
      new Map<CoseLabel, CoseValue>([
        ["coterie.gov.msg.type", "vote"],
        ["coterie.gov.msg.created_at", now],
      ]),
      new Map<CoseLabel, CoseValue>([
        ["coterie.gov.msg.type", "ballot"],
        ["coterie.gov.msg.created_at", now],
      ]),
      new Map<CoseLabel, CoseValue>([
        ["coterie.gov.msg.type", "proposal"],
        ["coterie.gov.msg.created_at", "now"],
      ]),
      new Map<CoseLabel, CoseValue>([
        ["coterie.gov.msg.type", "proposal"],
        ["coterie.gov.msg.created_at", now],
        ["coterie.gov.msg.proposal_id", proposalId],
      ]),
    ];
    for (const headers of variants) {
      const body = await signCoseSign1(signer, new TextEncoder().encode("{}"), headers);
      assert.throws(
        () => authenticateMemberCose(input(gov, body)),
        code("COTERIE_ERR_GOV_REQUEST_MALFORMED"),
        JSON.stringify([...headers]),
      );
    }
  });

  test("P-256 members sign with ES256", async () => {
    const g = await makeGov(0);
    try {
      const m = await makeMember("p256", "P-256");
      g.run((tx) =>
        tx.put(
          "public:coterie.gov.members.certs",
          new TextEncoder().encode(m.id),
          new TextEncoder().encode(m.certPem),
        ),
      );
      const body = await signGovRequest({
        signer: pemSigner(m.certPem, m.keyPem),
        type: "proposal",
        payload: "{}",
      });
      assert.equal(authenticateMemberCose(input(g, body))?.policy, "member_cose_sign1");
    } finally {
      g.dispose();
    }
  });

  test("interop: a ballot signed by cose-js is accepted", async () => {
    const m = gov.members[0]!;
    for (const label of [
      "coterie.gov.msg.type",
      "coterie.gov.msg.created_at",
      "coterie.gov.msg.proposal_id",
    ]) {
      cose.common.HeaderParameters[label] = label;
    }
    const jwk = createPrivateKey(m.keyPem).export({ format: "jwk" });
    const body = await cose.sign.create(
      {
        p: {
          alg: "ES384",
          kid: Buffer.from(memberKid(m.certPem)),
          "coterie.gov.msg.type": "ballot",
          "coterie.gov.msg.created_at": Math.floor(Date.now() / 1000),
          "coterie.gov.msg.proposal_id": proposalId,
        },
        u: {},
      },
      Buffer.from(yes),
      { key: { d: Buffer.from(jwk.d as string, "base64url") } },
    );
    const caller = authenticateMemberCose(input(gov, new Uint8Array(body)));
    assert.ok(caller?.policy === "member_cose_sign1", "cose-js ballot admitted");
    assert.equal(caller.id, m.id);
    assert.equal(caller.request.proposalId, proposalId);
  });
});
