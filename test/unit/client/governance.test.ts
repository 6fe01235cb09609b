// Member helpers: signed governance requests decode and verify with the member's public key and
// carry the headers the governance API expects; every signer kind works.
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { ensureIdentityFiles } from "../../../src/cli/identity-files.ts";
import {
  certificateKid,
  createClient,
  createIdentity,
  fixedBallot,
  GOV_MSG,
  signerFromPem,
  signGovRequest,
} from "../../../src/client/index.ts";
import { decodeCoseSign1, verifyCoseSign1 } from "../../../src/crypto/cose.ts";
import { json, scriptedFetch } from "./fake.ts";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

async function pemMember() {
  const dir = mkdtempSync(join(tmpdir(), "coterie-client-gov-"));
  const files = await ensureIdentityFiles(dir, "member0");
  return { cert: readFileSync(files.certPath, "utf8"), key: readFileSync(files.keyPath, "utf8") };
}

test("kid is SHA-256 of the member certificate DER", async () => {
  const { cert } = await pemMember();
  assert.equal(
    hex(await certificateKid(cert)),
    new X509Certificate(cert).fingerprint256.replaceAll(":", "").toLowerCase(),
  );
});

test("a PEM-key ballot verifies under the certificate's key and names its proposal", async () => {
  const { cert, key } = await pemMember();
  const signer = await signerFromPem(key, cert);
  assert.equal(signer.alg, -35);
  const bytes = await signGovRequest(signer, "ballot", fixedBallot(true), {
    proposalId: "p1",
    createdAtSeconds: 1_763_780_000,
  });
  const msg = decodeCoseSign1(bytes);
  await verifyCoseSign1(
    msg,
    new Uint8Array(new X509Certificate(cert).publicKey.export({ type: "spki", format: "der" })),
  );
  assert.equal(msg.protectedHeaders.get(GOV_MSG.type), "ballot");
  assert.equal(msg.protectedHeaders.get(GOV_MSG.createdAt), 1_763_780_000);
  assert.equal(msg.protectedHeaders.get(GOV_MSG.proposalId), "p1");
  assert.equal(hex(msg.kid as Uint8Array), hex(await certificateKid(cert)));
  assert.equal(
    new TextDecoder().decode(msg.payload as Uint8Array),
    fixedBallot(true),
    "a ballot is its JS source",
  );
});

test("a ballot or withdrawal without a proposal id is refused before signing", async () => {
  const { signer } = await createIdentity("m");
  await assert.rejects(signGovRequest(signer, "ballot", {}), TypeError);
  await assert.rejects(signGovRequest(signer, "withdrawal", undefined), TypeError);
});

test("a fresh WebCrypto identity is non-extractable and its signatures verify", async () => {
  const id = await createIdentity("browser member");
  assert.equal(id.privateKey.extractable, false);
  await assert.rejects(globalThis.crypto.subtle.exportKey("pkcs8", id.privateKey));
  const msg = decodeCoseSign1(await signGovRequest(id.signer, "proposal", { actions: [] }));
  const spki = new Uint8Array(
    new X509Certificate(id.certPem).publicKey.export({ type: "spki", format: "der" }),
  );
  await verifyCoseSign1(msg, spki);
  assert.equal(msg.protectedHeaders.has(GOV_MSG.proposalId), false);
});

test("client.gov posts application/cose to the /gov/v1 routes", async () => {
  const id = await createIdentity("m");
  const fetch = scriptedFetch([
    json(200, { proposal_id: "abc", state: "Open" }),
    json(200, { proposal_id: "abc", state: "Accepted" }),
    json(200, { proposal_id: "abc", state: "Withdrawn" }),
    json(200, { state_digest: "00ff" }),
    json(200, {}),
  ]);
  const gov = createClient({ url: "https://n.example", fetch, signer: id.signer }).gov;
  assert.equal(
    (await gov.proposals.create([{ name: "set_constitution", args: { constitution: "x" } }])).proposal_id,
    "abc",
  );
  await gov.ballots.submit("abc", fixedBallot(true));
  await gov.proposals.withdraw("abc");
  await gov.ack();
  assert.deepEqual(
    fetch.calls.map((c) => `${c.method} ${new URL(c.url).pathname} ${c.headers["content-type"] ?? ""}`),
    [
      "POST /gov/v1/proposals application/cose",
      "POST /gov/v1/proposals/abc/ballots application/cose",
      "POST /gov/v1/proposals/abc/withdraw application/cose",
      "GET /gov/v1/members/state-digest ",
      "POST /gov/v1/members/ack application/cose",
    ],
  );
  await assert.rejects(async () => gov.proposals.get("../etc"), RangeError);
  await assert.rejects(createClient({ url: "https://n.example", fetch }).gov.ack(), /need a signer/);
});
