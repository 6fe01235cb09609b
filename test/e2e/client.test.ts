// The SDK against a real node process: pinned service certificate and mutual TLS through
// `coterie/client/node`, writes with and without respond-on-commit, waitForCommit, receipts that
// verify offline, typed errors, a 307 from a stand-in backup followed with the client certificate
// kept, user writes COSE-signed instead of mTLS, members governing with COSE-signed requests (one of them a non-extractable WebCrypto key),
// a typed client generated from the node's OpenAPI, and the browser ledger verifier agreeing with
// `coterie ledger verify` on real and tampered ledgers.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { crc32 as zlibCrc32 } from "node:zlib";
import {
  CoterieClientError,
  certificateKid,
  createClient,
  createIdentity,
  fixedBallot,
  signerFromPem,
  verifyLedgerChunks,
} from "../../src/client/index.ts";
import { createNodeClient, createNodeFetch } from "../../src/client/node.ts";
import { verifyLedgerDirectory } from "../../src/ledger/verify.ts";
import {
  killNode,
  makeWorkspace,
  type NodeProcess,
  root,
  startNodeProcess,
  type Workspace,
} from "./harness.ts";

const read = (p: string) => readFileSync(p, "utf8");

describe("client SDK against a real node", () => {
  let ws: Workspace;
  let node: NodeProcess;
  before(async () => {
    ws = await makeWorkspace();
    node = await startNodeProcess(ws);
  });
  after(async () => {
    await killNode(node, "SIGTERM");
  });

  const userClient = () =>
    createNodeClient({
      url: node.url,
      serviceCert: node.serviceCert,
      cert: read(ws.user.certPath),
      key: read(ws.user.keyPath),
    });

  test("write, read, wait for commit, receipt, verify", async () => {
    const client = await userClient();
    const w = await client.write("/app/log/private", { id: 1, msg: "hello" });
    assert.equal(w.status, "Pending");
    assert.match(w.transactionId, /^\d+\.\d+$/);
    assert.deepEqual(await client.get("/app/log/private", { query: { id: 1 } }), { id: 1, msg: "hello" });
    const done = await client.waitForCommit(w.transactionId, { timeoutMs: 10_000 });
    assert.equal(done.status, "Committed");
    const receipt = await client.getReceipt(w.transactionId);
    assert.equal((await client.verifyReceipt(receipt)).transactionId, w.transactionId);

    const c = await client.write("/app/log/public", { id: 2, msg: "world" }, { waitForCommit: true });
    assert.equal(c.status, "Committed");
    assert.ok(c.receipt);
    assert.equal((await client.verifyReceipt(c.receipt)).transactionId, c.transactionId);
    assert.match(await client.commit(), /^\d+\.\d+$/);
    assert.equal((await client.network()).service_certificate.trim(), node.serviceCert.trim());
    await client.close();
  });

  test("errors are typed with the service's codes", async () => {
    const client = await userClient();
    await assert.rejects(client.get("/app/log/private", { query: { id: 999 } }), (e: unknown) => {
      assert.ok(e instanceof CoterieClientError);
      assert.equal(e.code, "COTERIE_ERR_NOT_FOUND");
      assert.equal(e.status, 404);
      return true;
    });
    await assert.rejects(client.write("/app/log/private", { id: "x", msg: "m" }), {
      code: "COTERIE_ERR_INVALID_INPUT",
      status: 400,
    });
    await assert.rejects(client.txStatus("nonsense"), RangeError);
    const stranger = await createNodeClient({
      url: node.url,
      serviceCert: node.serviceCert,
      cert: read(ws.other.certPath),
      key: read(ws.other.keyPath),
    });
    await assert.rejects(stranger.write("/app/log/private", { id: 1, msg: "m" }), {
      code: "COTERIE_ERR_UNAUTHENTICATED",
    });
    await stranger.close();
    await client.close();
  });

  test("a service certificate other than the pinned one is refused (no request is made)", async () => {
    const other = await makeWorkspace();
    const otherNode = await startNodeProcess(other);
    try {
      const client = await createNodeClient({
        url: otherNode.url,
        serviceCert: node.serviceCert,
        readRetriesMax: 0,
      });
      await assert.rejects(client.nodeState(), { code: "COTERIE_ERR_CLIENT_NETWORK" });
      await client.close();
    } finally {
      await killNode(otherNode);
    }
  });

  test("a 307 from a backup is followed to the primary with the client certificate kept", async () => {
    const seen: string[] = [];
    const backup: Server = createServer((req, res) => {
      seen.push(`${req.method} ${req.url} auth=${req.headers.authorization ?? ""}`);
      req.resume();
      res.writeHead(307, { location: `${node.url}${req.url}`, "content-type": "application/json" });
      res.end(JSON.stringify({ error: { code: "COTERIE_ERR_NOT_PRIMARY", message: "not the primary" } }));
    });
    await new Promise<void>((r) => backup.listen(0, "127.0.0.1", r));
    const fetchFn = createNodeFetch({
      serviceCert: node.serviceCert,
      cert: read(ws.user.certPath),
      key: read(ws.user.keyPath),
    });
    const client = createClient({
      url: `http://127.0.0.1:${(backup.address() as AddressInfo).port}`,
      fetch: fetchFn,
      headers: { authorization: "Bearer kept-across-hops" },
    });
    const w = await client.write("/app/log/private", { id: 3, msg: "via backup" }, { waitForCommit: true });
    assert.equal(w.status, "Committed");
    assert.deepEqual(seen, ["POST /app/log/private auth=Bearer kept-across-hops"]);
    await fetchFn.close();
    backup.close();
  });

  test("members govern through the SDK: a WebCrypto member is added, acks, and proposals are withdrawn", async () => {
    const member0 = await createNodeClient({
      url: node.url,
      serviceCert: node.serviceCert,
      cert: read(ws.member.certPath),
      key: read(ws.member.keyPath),
      signingKey: read(ws.member.keyPath),
    });
    // A genesis member is Accepted until it acknowledges the state digest (read over its TLS identity).
    assert.equal((await member0.gov.ack()).status, "Active");
    const browserMember = await createIdentity("member1");
    const p = await member0.gov.proposals.create([
      { name: "set_member", args: { cert: browserMember.certPem } },
    ]);
    assert.match(p.proposal_id, /^[0-9a-f]{64}$/);
    assert.equal(p.state, "Open");
    assert.equal((await member0.gov.ballots.submit(p.proposal_id, fixedBallot(true))).state, "Accepted");
    assert.equal((await member0.gov.proposals.get(p.proposal_id)).state, "Accepted");

    // The new member has no TLS certificate here (a browser key): it signs, and is given the digest.
    const fetchFn = createNodeFetch({ serviceCert: node.serviceCert });
    const member1 = createClient({ url: node.url, fetch: fetchFn, signer: browserMember.signer });
    const { state_digest } = await member0.gov.stateDigest();
    const acked = await member1.gov.ack({ stateDigest: state_digest });
    assert.equal(acked.status, "Active");
    assert.equal(acked.member_id, Buffer.from(await certificateKid(browserMember.certPem)).toString("hex"));
    const p2 = await member0.gov.proposals.create([
      { name: "set_user", args: { cert: read(ws.other.certPath) } },
    ]);
    await assert.rejects(member1.gov.proposals.withdraw(p2.proposal_id), {
      code: "COTERIE_ERR_GOV_NOT_PROPOSER",
    });
    assert.equal((await member0.gov.proposals.withdraw(p2.proposal_id)).state, "Withdrawn");
    await assert.rejects(member0.gov.ballots.submit(p2.proposal_id, fixedBallot(true)), {
      code: "COTERIE_ERR_GOV_PROPOSAL_NOT_OPEN",
    });
    await fetchFn.close();
    await member0.close();
  });

  test("a typed client generated from the node's /app/openapi.json calls the app", async () => {
    const dir = mkdtempSync(join(tmpdir(), "coterie-app-client-"));
    const out = join(dir, "logging-client.ts");
    const r = spawnSync(
      process.execPath,
      [
        join(root, "tools/app-client.ts"),
        ...["--url", node.url, "--service-cert", join(ws.dir, "node0", "service_cert.pem")],
        ...["--cert", ws.user.certPath, "--key", ws.user.keyPath, "--out", out],
        ...["--import-from", join(root, "src/client/index.ts")],
      ],
      { encoding: "utf8" },
    );
    assert.equal(r.status, 0, r.stderr);
    writeFileSync(join(dir, "package.json"), '{"type":"module"}');
    const { createLoggingClient } = (await import(out)) as {
      createLoggingClient: (c: unknown) => Record<string, (...args: unknown[]) => Promise<unknown>>;
    };
    const client = await userClient();
    const app = createLoggingClient(client);
    const w = await app.postAppLogPublic?.({ id: 30, msg: "typed" }, { waitForCommit: true });
    assert.equal((w as { status: string }).status, "Committed");
    assert.deepEqual(await app.getAppLogPublic?.({ query: { id: 30 } }), { id: 30, msg: "typed" });
    await client.close();
  });

  test("writes COSE-signed by a user key authenticate without a TLS client certificate", async () => {
    const appWs = await makeWorkspace();
    const appPath = join(appWs.dir, "signed-notes.ts");
    writeFileSync(
      appPath,
      `import { defineApp, utf8 } from ${JSON.stringify(join(root, "src/app/index.ts"))};
export default defineApp({ name: "signed-notes", endpoints: [{
  method: "POST", path: "/notes", auth: ["user_cose_sign1"], mode: "readwrite",
  handler(ctx) {
    const { id, msg } = ctx.request.json();
    ctx.tx.typed("public:notes", utf8, utf8).put(String(id), msg);
    return { body: { by: ctx.caller.id, msg } };
  },
}] });
`,
    );
    const appNode = await startNodeProcess(appWs, appPath);
    const fetchFn = createNodeFetch({ serviceCert: appNode.serviceCert });
    try {
      const signer = await signerFromPem(read(appWs.user.keyPath), read(appWs.user.certPath));
      const client = createClient({ url: appNode.url, fetch: fetchFn, signer, signWrites: true });
      const w = await client.write<{ by: string; msg: string }>("/app/notes", { id: 1, msg: "signed" });
      assert.deepEqual(w.response, {
        by: Buffer.from(await certificateKid(read(appWs.user.certPath))).toString("hex"),
        msg: "signed",
      });
      await client.waitForCommit(w.transactionId, { timeoutMs: 10_000 });
      // Unsigned, the same write has no credential at all.
      await assert.rejects(client.write("/app/notes", { id: 2, msg: "x" }, { signed: false }), {
        code: "COTERIE_ERR_UNAUTHENTICATED",
      });
      // Signed by a key the service does not know.
      const stranger = await createIdentity("stranger");
      const other = createClient({
        url: appNode.url,
        fetch: fetchFn,
        signer: stranger.signer,
        signWrites: true,
      });
      await assert.rejects(other.write("/app/notes", { id: 3, msg: "x" }), {
        code: "COTERIE_ERR_UNAUTHENTICATED",
      });
    } finally {
      await fetchFn.close();
      await killNode(appNode);
    }
  });

  test("the browser ledger verifier agrees with `coterie ledger verify`, untouched and tampered", async () => {
    const client = await userClient();
    for (let i = 0; i < 5; i++)
      await client.write("/app/log/private", { id: 10 + i, msg: `m${i}` }, { waitForCommit: true });
    await client.close();
    const copy = mkdtempSync(join(tmpdir(), "coterie-ledger-copy-"));
    cpSync(join(ws.dir, "node0", "ledger"), copy, { recursive: true });
    await assertAgree(copy, node.serviceCert, "untouched");
    const names = readdirSync(copy)
      .filter((n) => n.endsWith(".chunk"))
      .sort();
    const last = join(copy, names[names.length - 1] as string);
    const original = readFileSync(last);
    for (const offset of [0, 20, 100, Math.floor(original.length / 2), original.length - 5]) {
      const tampered = Buffer.from(original);
      tampered[offset] = (tampered[offset] as number) ^ 0x01;
      writeFileSync(last, tampered);
      await assertAgree(copy, node.serviceCert, `byte ${offset} flipped`);
    }
    // Past the CRC: alter bytes inside entries and fix the CRC, so the Merkle root, the signature
    // record and the entry decoding must catch them — in both verifiers, in the same words.
    let detected = 0;
    for (const { offset, length } of frames(original).slice(0, 12)) {
      for (const at of new Set([
        0,
        1,
        2,
        5,
        9,
        17,
        25,
        33,
        40,
        41,
        Math.floor(length / 2),
        length - 40,
        length - 1,
      ])) {
        if (at < 0 || at >= length) continue;
        const tampered = Buffer.from(original);
        tampered[offset + 4 + at] = (tampered[offset + 4 + at] as number) ^ 0x01;
        tampered.writeUInt32LE(
          zlibCrc32(tampered.subarray(offset + 4, offset + 4 + length)),
          offset + 4 + length,
        );
        writeFileSync(last, tampered);
        if (await assertAgree(copy, node.serviceCert, `entry byte ${at} at ${offset} altered, CRC fixed`))
          detected++;
      }
    }
    assert.ok(detected > 50, `${detected} alterations were compared`);
    writeFileSync(last, original);
    await assertAgree(copy, read(ws.member.certPath), "another certificate pinned as the service's");
    writeFileSync(last, original.subarray(0, original.length - 3));
    await assertAgree(copy, node.serviceCert, "truncated");
    writeFileSync(last, original);
    await assertAgree(copy, undefined, "service certificate from the ledger");
  });
});

/** Offset and entry length of every frame of a chunk file (after its 16-byte header). */
function frames(chunk: Buffer): { offset: number; length: number }[] {
  const out: { offset: number; length: number }[] = [];
  for (let offset = 16; offset + 4 <= chunk.length && out.length < 10_000; ) {
    const length = chunk.readUInt32LE(offset);
    out.push({ offset, length });
    offset += 8 + length;
  }
  return out;
}

/** Both verifiers give the same verdict; returns whether they refused (a tampering was detected). */
async function assertAgree(dir: string, serviceCertPem: string | undefined, what: string): Promise<boolean> {
  const options = serviceCertPem === undefined ? {} : { serviceCertPem };
  const chunks = readdirSync(dir).map((name) => ({
    name,
    bytes: new Uint8Array(readFileSync(join(dir, name))),
  }));
  let expected: unknown;
  try {
    // The browser verifier takes whole ledgers only (no snapshot base): compare without that field.
    const report = verifyLedgerDirectory(dir, options);
    assert.equal(report.snapshot, null, "a whole ledger needs no snapshot");
    expected = { ok: report };
  } catch (e) {
    expected = {
      code: (e as CoterieClientError).code,
      message: (e as Error).message,
      details: (e as CoterieClientError).details,
    };
  }
  let actual: unknown;
  try {
    actual = { ok: await verifyLedgerChunks(chunks, options) };
  } catch (e) {
    actual = {
      code: (e as CoterieClientError).code,
      message: (e as Error).message,
      details: (e as CoterieClientError).details,
    };
  }
  assert.deepEqual(actual, expected, what);
  const refused = !("ok" in (expected as object));
  if (what === "untouched" || what === "service certificate from the ledger")
    assert.ok(!refused, `${what} verifies`);
  else assert.ok(refused, `${what} is detected`);
  return refused;
}
