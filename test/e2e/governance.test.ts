// Governance end to end on a real node process with three members: acks, opening the service by
// vote, adding a member and a user by vote, trusting a node record by vote, a constitution that
// throws or loops (the proposal fails, the service keeps running), replacing the constitution with
// the veto sample, replay/stale/non-member refusals, the CLI, and `gov audit` passing on the
// resulting ledger and naming a tampered ballot.
//
// Real joining of a node comes with the consensus work: the Pending node record trusted here is
// created by a test action of a test constitution, through governance like everything else.
import assert from "node:assert/strict";
import { cpSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { crc32 } from "node:zlib";
import { ensureIdentityFiles, type IdentityFiles } from "../../src/cli/identity-files.ts";
import { certificateId } from "../../src/crypto/x509.ts";
import {
  constitutionSource,
  type GovMessageType,
  pemSigner,
  signGovRequest,
} from "../../src/governance/index.ts";
import { CHUNK_HEADER_BYTES, scanFrame } from "../../src/ledger/chunk-format.ts";
import {
  type Client,
  client,
  killNode,
  makeWorkspace,
  type NodeProcess,
  runCli,
  startNodeProcess,
  type Workspace,
} from "./harness.ts";

const yes = "export function vote(proposal, proposerId) { return true; }";
const no = "export function vote(proposal, proposerId) { return false; }";

/** The shipped action library plus test actions, under a majority policy that misbehaves on request. */
function testConstitution(): string {
  const library = readFileSync(
    join(import.meta.dirname, "../../src/governance/constitutions/actions.js"),
    "utf8",
  );
  return `${library}
ACTIONS.test_add_pending_node = {
  validate(a) { checkArgs(a, ["node_id", "cert"]); },
  apply(a) { host.kv_put(MAP.nodeInfo, a.node_id, { cert: a.cert, status: "Pending", rpc_address: "127.0.0.1:1", platform: "virtual" }); },
};
ACTIONS.test_throw = { validate() {}, apply() {} };
ACTIONS.test_loop = { validate() {}, apply() {} };
export function validate(input) { return validateActions(input); }
export function resolve(proposal, proposerId, votes) {
  const name = proposal.actions[0].name;
  if (name === "test_throw") throw new Error("constitution bug on purpose");
  if (name === "test_loop") for (;;) {}
  const active = new Set(activeMemberIds());
  const yes = votes.filter((v) => v.vote && active.has(v.member_id)).length;
  return yes >= Math.floor(active.size / 2) + 1 ? "Accepted" : "Open";
}
export function apply(proposal, proposalId) { applyActions(proposal, proposalId); }
`;
}

describe("governance with three members", () => {
  let ws: Workspace;
  let node: NodeProcess;
  const members: IdentityFiles[] = [];
  const clients: Client[] = [];
  const sent: Record<string, Uint8Array> = {};
  let vetoedId = "";

  before(async () => {
    ws = await makeWorkspace({
      genesis: {
        members: [{ cert: "member0_cert.pem" }, { cert: "member1_cert.pem" }, { cert: "member2_cert.pem" }],
        users: [{ cert: "user0_cert.pem" }],
        open: false,
      },
    });
    members.push(
      ws.member,
      await ensureIdentityFiles(ws.dir, "member1"),
      await ensureIdentityFiles(ws.dir, "member2"),
    );
    node = await startNodeProcess(ws);
  });
  after(async () => {
    for (const c of clients) c.close();
    if (node) await killNode(node, "SIGTERM");
  });

  const idOf = (m: IdentityFiles) => certificateId(readFileSync(m.certPath, "utf8"));
  const clientOf = (m: IdentityFiles | null) => {
    const c = client(node, m);
    clients.push(c);
    return c;
  };
  async function send(
    m: IdentityFiles,
    path: string,
    type: GovMessageType,
    payload: string,
    o: { proposalId?: string; createdAt?: number } = {},
  ) {
    const signer = pemSigner(readFileSync(m.certPath, "utf8"), readFileSync(m.keyPath, "utf8"));
    const body = await signGovRequest({ signer, type, payload, ...o });
    sent[`${type}:${idOf(m)}:${o.proposalId ?? path}`] = body;
    return {
      reply: await clientOf(null).raw("POST", path, Buffer.from(body), {
        "content-type": "application/cose",
      }),
      body,
    };
  }
  async function propose(
    m: IdentityFiles,
    ...actions: Array<{ name: string; args?: unknown }>
  ): Promise<string> {
    const { reply } = await send(m, "/gov/v1/proposals", "proposal", JSON.stringify({ actions }));
    assert.equal(reply.status, 200, reply.body);
    return reply.json().proposal_id;
  }
  async function vote(m: IdentityFiles, id: string, ballot: string) {
    const { reply } = await send(m, `/gov/v1/proposals/${id}/ballots`, "ballot", ballot, { proposalId: id });
    assert.equal(reply.status, 200, reply.body);
    return reply.json();
  }
  async function ack(m: IdentityFiles) {
    const digest = await clientOf(m).get("/gov/v1/members/state-digest");
    assert.equal(digest.status, 200, digest.body);
    const { reply } = await send(
      m,
      "/gov/v1/members/ack",
      "ack",
      JSON.stringify({ state_digest: digest.json().state_digest }),
    );
    assert.equal(reply.status, 200, reply.body);
    assert.equal(reply.json().status, "Active");
  }
  const userWrite = (u: IdentityFiles, id: number) => clientOf(u).post("/app/log/private", { id, msg: "hi" });

  test("members ack, then open the service by proposal and ballots", async () => {
    const early = await propose(members[0]!, { name: "trigger_snapshot" }).catch((e: Error) => e);
    assert.match(String(early), /COTERIE_ERR_GOV_MEMBER_NOT_ACTIVE/);
    for (const m of members) await ack(m);
    assert.equal((await userWrite(ws.user, 1)).status, 503, "not open yet");
    const id = await propose(members[0]!, { name: "transition_service_to_open" });
    assert.equal((await vote(members[0]!, id, yes)).state, "Open");
    const accepted = await vote(members[1]!, id, yes);
    assert.equal(accepted.state, "Accepted");
    assert.deepEqual(Object.keys(accepted.ballots).sort(), [idOf(members[0]!), idOf(members[1]!)].sort());
    assert.equal((await clientOf(null).get("/gov/v1/service")).json().status, "Open");
    assert.equal((await userWrite(ws.user, 1)).status, 200);
  });

  test("a non-member gets 401", async () => {
    const { reply } = await send(
      ws.other,
      "/gov/v1/proposals",
      "proposal",
      JSON.stringify({ actions: [{ name: "trigger_snapshot" }] }),
    );
    assert.equal(reply.status, 401, reply.body);
    assert.equal(reply.json().error.code, "COTERIE_ERR_UNAUTHENTICATED");
    assert.equal((await clientOf(ws.other).get("/gov/v1/members/state-digest")).status, 401);
    assert.equal((await clientOf(ws.user).get("/gov/v1/members/state-digest")).status, 401);
  });

  test("add a member and a user by vote; the new member acks and becomes Active", async () => {
    const member3 = await ensureIdentityFiles(ws.dir, "member3");
    const user1 = await ensureIdentityFiles(ws.dir, "user1");
    assert.equal((await userWrite(user1, 2)).status, 401);
    const id = await propose(
      members[0]!,
      {
        name: "set_member",
        args: { cert: readFileSync(member3.certPath, "utf8"), member_data: { org: "auditor" } },
      },
      { name: "set_user", args: { cert: readFileSync(user1.certPath, "utf8"), user_data: { party: "p1" } } },
    );
    await vote(members[1]!, id, yes);
    assert.equal((await vote(members[2]!, id, yes)).state, "Accepted");
    assert.equal((await userWrite(user1, 2)).status, 200);
    const listed = (await clientOf(null).get("/gov/v1/members")).json().members as Array<{
      member_id: string;
      status: string;
    }>;
    assert.equal(listed.find((m) => m.member_id === idOf(member3))?.status, "Accepted");
    await ack(member3);
    members.push(member3);
  });

  test("invalid action arguments are refused by validate with the reason", async () => {
    const { reply } = await send(
      members[0]!,
      "/gov/v1/proposals",
      "proposal",
      JSON.stringify({ actions: [{ name: "set_user", args: { cert: "nope" } }] }),
    );
    assert.equal(reply.status, 400);
    assert.equal(reply.json().error.code, "COTERIE_ERR_GOV_PROPOSAL_INVALID");
    assert.match(reply.json().error.message, /action 0 \(set_user\): not a PEM/);
  });

  test("replayed and stale signed requests are rejected", async () => {
    const id = await propose(members[0]!, { name: "trigger_snapshot" });
    const { reply, body } = await send(members[1]!, `/gov/v1/proposals/${id}/ballots`, "ballot", no, {
      proposalId: id,
    });
    assert.equal(reply.status, 200);
    const replay = await clientOf(null).raw("POST", `/gov/v1/proposals/${id}/ballots`, Buffer.from(body), {
      "content-type": "application/cose",
    });
    assert.equal(replay.status, 409);
    assert.equal(replay.json().error.code, "COTERIE_ERR_GOV_REQUEST_REPLAYED");
    const old = await send(members[2]!, `/gov/v1/proposals/${id}/ballots`, "ballot", yes, {
      proposalId: id,
      createdAt: Math.floor(Date.now() / 1000) - 3600,
    });
    assert.equal(old.reply.status, 401);
    assert.equal(old.reply.json().error.code, "COTERIE_ERR_GOV_REQUEST_STALE");
    const shown = (await clientOf(null).get(`/gov/v1/proposals/${id}`)).json();
    assert.deepEqual(Object.keys(shown.ballots), [idOf(members[1]!)], "neither attempt changed the proposal");
  });

  test("trust a node record by vote", async () => {
    const id = await propose(members[0]!, {
      name: "set_constitution",
      args: { constitution: testConstitution() },
    });
    for (const m of members.slice(0, 3)) await vote(m, id, yes);
    assert.equal((await clientOf(null).get(`/gov/v1/proposals/${id}`)).json().state, "Accepted");
    const nodeId = "ab".repeat(32);
    const add = await propose(members[0]!, {
      name: "test_add_pending_node",
      args: { node_id: nodeId, cert: readFileSync(ws.other.certPath, "utf8") },
    });
    for (const m of members.slice(0, 3)) await vote(m, add, yes);
    const nodes = () =>
      clientOf(null)
        .get("/gov/v1/nodes")
        .then((r) => r.json().nodes as Array<{ node_id: string; status: string }>);
    assert.equal((await nodes()).find((n) => n.node_id === nodeId)?.status, "Pending");
    const trust = await propose(members[1]!, {
      name: "transition_node_to_trusted",
      args: { node_id: nodeId },
    });
    for (const m of members.slice(0, 3)) await vote(m, trust, yes);
    assert.equal((await nodes()).find((n) => n.node_id === nodeId)?.status, "Trusted");
  });

  test("a constitution that throws or loops fails the proposal with the error; the service keeps running", async () => {
    for (const [name, code] of [
      ["test_throw", "COTERIE_ERR_SANDBOX_THROWN"],
      ["test_loop", "COTERIE_ERR_SANDBOX_TIMEOUT"],
    ] as const) {
      const id = await propose(members[0]!, { name });
      const shown = (await clientOf(null).get(`/gov/v1/proposals/${id}`)).json();
      assert.equal(shown.state, "Failed");
      assert.equal(shown.failure.code, code);
      assert.equal((await userWrite(ws.user, 3)).status, 200);
    }
  });

  test("replace the constitution with veto.js; a single no blocks (through the CLI)", async () => {
    const id = await propose(members[0]!, {
      name: "set_constitution",
      args: { constitution: constitutionSource("veto") },
    });
    for (const m of members.slice(0, 3)) await vote(m, id, yes);
    assert.equal(
      (await clientOf(null).get("/gov/v1/constitution")).json().constitution,
      constitutionSource("veto"),
    );
    const cli = (m: IdentityFiles, ...args: string[]) =>
      runCli([
        "gov",
        ...args,
        "--url",
        node.url,
        "--service-cert",
        join(ws.dir, "node0", "service_cert.pem"),
        "--cert",
        m.certPath,
        "--key",
        m.keyPath,
        "--json",
      ]);
    const proposalFile = join(ws.dir, "snapshot.json");
    writeFileSync(proposalFile, JSON.stringify({ actions: [{ name: "trigger_snapshot" }] }));
    const yesFile = join(ws.dir, "yes.js");
    const noFile = join(ws.dir, "no.js");
    writeFileSync(yesFile, yes);
    writeFileSync(noFile, no);
    const proposed = cli(members[0]!, "propose", proposalFile);
    assert.equal(proposed.status, 0, proposed.stderr);
    const pid = JSON.parse(proposed.stdout).proposal_id as string;
    for (const m of [members[0]!, members[1]!, members[3]!])
      assert.equal(cli(m, "vote", pid, yesFile).status, 0);
    assert.equal(
      JSON.parse(cli(members[0]!, "show", pid).stdout).state,
      "Open",
      "three yes of four is not enough under veto",
    );
    const signerCommand = `openssl dgst -sha384 -sign ${members[2]!.keyPath} | base64 -w0`;
    const vetoed = runCli([
      "gov",
      "vote",
      pid,
      noFile,
      "--url",
      node.url,
      "--service-cert",
      join(ws.dir, "node0", "service_cert.pem"),
      "--cert",
      members[2]!.certPath,
      "--signer-command",
      signerCommand,
    ]);
    assert.equal(vetoed.status, 0, vetoed.stderr);
    assert.match(vetoed.stdout, /Rejected/);
    vetoedId = pid;
    const listed = cli(members[0]!, "list");
    assert.equal(
      JSON.parse(listed.stdout).proposals.find((p: { proposal_id: string }) => p.proposal_id === pid).state,
      "Rejected",
    );
  });

  test("the OpenAPI description lists every governance route", async () => {
    const doc = (await clientOf(null).get("/gov/v1/openapi.json")).json();
    assert.equal(doc.openapi, "3.1.0");
    for (const path of [
      "/gov/v1/proposals",
      "/gov/v1/proposals/{proposal_id}/ballots",
      "/gov/v1/members/ack",
      "/gov/v1/members/state-digest",
      "/gov/v1/service",
    ]) {
      assert.ok(doc.paths[path], path);
    }
    assert.ok(doc.paths["/gov/v1/proposals"].post.requestBody.content["application/cose"]);
  });

  test("gov audit passes on the ledger, and names a tampered ballot", async () => {
    await killNode(node, "SIGTERM");
    const ledger = join(ws.dir, "node0", "ledger");
    const serviceCert = join(ws.dir, "node0", "service_cert.pem");
    const ok = runCli(["gov", "audit", ledger, "--service-cert", serviceCert]);
    assert.equal(ok.status, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, /governance OK: every signature verified and every outcome recomputed/);
    // Alter member1's first "no" ballot inside its COSE record and fix up the frame CRC, as a careful forger would.
    const tampered = join(ws.dir, "tampered");
    cpSync(ledger, tampered, { recursive: true });
    const target = Object.entries(sent).find(
      ([k, v]) =>
        k.startsWith(`ballot:${idOf(members[1]!)}`) && new TextDecoder().decode(v).includes("return false"),
    );
    assert.ok(target);
    const base64 = Buffer.from(target[1]).toString("base64");
    let found = false;
    for (const name of readdirSync(tampered)) {
      const path = join(tampered, name);
      const buf = readFileSync(path);
      const at = buf.indexOf(base64);
      if (at < 0) continue;
      const i = at + Math.floor(base64.length / 2);
      buf[i] = buf[i] === 0x41 ? 0x42 : 0x41;
      for (let offset = CHUNK_HEADER_BYTES; offset < buf.length; ) {
        const n = buf.readUInt32LE(offset);
        if (at >= offset + 4 && at < offset + 4 + n)
          buf.writeUInt32LE(crc32(buf.subarray(offset + 4, offset + 4 + n)), offset + 4 + n);
        const next = scanFrame(buf, offset);
        assert.ok(next.ok);
        offset = next.next;
      }
      writeFileSync(path, buf);
      found = true;
    }
    assert.ok(found, "the ballot's COSE bytes are in the ledger");
    const bad = runCli(["gov", "audit", tampered, "--service-cert", serviceCert]);
    assert.equal(bad.status, 1, bad.stdout + bad.stderr);
    assert.match(
      bad.stdout,
      new RegExp(`\\[signature\\] ballot by member ${idOf(members[1]!)} on proposal [0-9a-f]{64}`),
      bad.stderr,
    );
    assert.match(bad.stdout, /\[integrity\]/, bad.stderr);

    // Rewrite the vetoed proposal's recorded outcome (Rejected -> Accepted, same length, CRC fixed).
    const forgedOutcome = join(ws.dir, "forged-outcome");
    cpSync(ledger, forgedOutcome, { recursive: true });
    let rewritten = 0;
    for (const name of readdirSync(forgedOutcome)) {
      const path = join(forgedOutcome, name);
      const buf = readFileSync(path);
      for (let offset = CHUNK_HEADER_BYTES; offset < buf.length; ) {
        const n = buf.readUInt32LE(offset);
        const entry = buf.subarray(offset + 4, offset + 4 + n);
        const at = entry.indexOf('"state":"Rejected"');
        if (at >= 0 && entry.indexOf(vetoedId) >= 0) {
          entry.write('"state":"Accepted"', at, "latin1");
          buf.writeUInt32LE(crc32(entry), offset + 4 + n);
          rewritten++;
        }
        offset += 8 + n;
      }
      writeFileSync(path, buf);
    }
    assert.equal(rewritten, 1);
    const forged = runCli(["gov", "audit", forgedOutcome, "--service-cert", serviceCert]);
    assert.equal(forged.status, 1);
    assert.match(
      forged.stdout,
      new RegExp(
        `\\[outcome\\] ballot by member ${idOf(members[2]!)} on proposal ${vetoedId}: public:coterie.gov.proposals_info ${vetoedId}: the ledger records .*"state":"Accepted".*, recomputation gives .*"state":"Rejected"`,
      ),
      forged.stdout + forged.stderr,
    );
  });
});
