// What the end-to-end tests of members' work share: encryption keys, a member's signed governance
// requests (what `coterie gov` and `coterie recover submit-share` send), the state-digest ack, and
// a proposal passed by several members' votes.
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { IdentityFiles } from "../../src/cli/identity-files.ts";
import {
  GOV_CONTENT_TYPE,
  type GovMessageType,
  pemSigner,
  signGovRequest,
} from "../../src/governance/index.ts";
import { client, type NodeProcess } from "./harness.ts";

/** A member's encryption key pair: the private key in `dir`, the public key as PEM for genesis. */
export function encryptionKey(dir: string, name: string, kind: "rsa" | "ec") {
  const pair =
    kind === "rsa"
      ? generateKeyPairSync("rsa", { modulusLength: 2048 })
      : generateKeyPairSync("ec", { namedCurve: "P-256" });
  const path = join(dir, `${name}_enc_privk.pem`);
  writeFileSync(path, pair.privateKey.export({ type: "pkcs8", format: "pem" }));
  return { path, publicPem: pair.publicKey.export({ type: "spki", format: "pem" }) as string };
}

/** A member's signed governance requests (what `coterie gov` and `coterie recover submit-share` send). */
export function gov(node: NodeProcess, m: IdentityFiles) {
  const signer = pemSigner(readFileSync(m.certPath, "utf8"), readFileSync(m.keyPath, "utf8"));
  return async (path: string, type: GovMessageType, payload: string, proposalId?: string) => {
    const body = await signGovRequest({ signer, type, payload, ...(proposalId ? { proposalId } : {}) });
    const c = client(node, m);
    const r = await c.raw("POST", path, Buffer.from(body), { "content-type": GOV_CONTENT_TYPE });
    c.close();
    return { status: r.status, body: r.json() };
  };
}

/** The member acknowledges the current state digest (what makes an invited member Active). */
export async function ack(node: NodeProcess, m: IdentityFiles): Promise<void> {
  const c = client(node, m);
  const digest = (await c.get("/gov/v1/members/state-digest")).json().state_digest as string;
  c.close();
  const r = await gov(node, m)("/gov/v1/members/ack", "ack", JSON.stringify({ state_digest: digest }));
  assert.equal(r.status, 200, JSON.stringify(r.body));
}

/** Proposes `actions` as ms[0] and votes yes with every member in `ms`; asserts Accepted. */
export async function pass(node: NodeProcess, ms: IdentityFiles[], actions: unknown[]): Promise<void> {
  const p = await gov(node, ms[0] as IdentityFiles)(
    "/gov/v1/proposals",
    "proposal",
    JSON.stringify({ actions }),
  );
  assert.equal(p.status, 200, JSON.stringify(p.body));
  const id = p.body.proposal_id as string;
  let state = "";
  for (const m of ms) {
    const ballot = "export function vote() { return true; }\n";
    const v = await gov(node, m)(`/gov/v1/proposals/${id}/ballots`, "ballot", ballot, id);
    assert.equal(v.status, 200, JSON.stringify(v.body));
    state = v.body.state;
  }
  assert.equal(state, "Accepted");
}
