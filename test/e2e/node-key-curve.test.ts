// Node keys on P-256 (`nodeKey.curve`): a one-node service whose receipts — JSON, and the COSE form
// it serves, signed with its own sealed key — and ledger verify in the CLI, the library and the
// browser-safe verifiers, and whose restart keeps its key; a P-256 node joining a P-384 service
// (mutual TLS between the two, secrets sealed to the P-256 key, a ledger signed on both curves
// once the P-256 node leads); and the join route refusing keys on other curves with its stable code.
import assert from "node:assert/strict";
import { generateKeyPairSync, X509Certificate } from "node:crypto";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { verifyLedgerChunks, verifyReceipt } from "../../src/client/index.ts";
import { createNodeClient } from "../../src/client/node.ts";
import { COSE_ALG, decodeCoseSign1 } from "../../src/crypto/cose.ts";
import { type ServedCoseReceipt, verifyCoseReceipt } from "../../src/crypto/cose-receipt.ts";
import { curveOf, publicKeyToPem } from "../../src/crypto/keys.ts";
import type { Receipt } from "../../src/crypto/receipt.ts";
import { client, killNode, makeWorkspace, type NodeProcess, runCli, startNodeProcess } from "./harness.ts";
import { findPrimary, networkOf, startNetwork, waitFor } from "./multi-node-harness.ts";
import { sealedIdentity } from "./sealed-identity.ts";

const read = (p: string) => readFileSync(p, "utf8");
const curveOfCert = (pem: string) => new X509Certificate(pem).publicKey.asymmetricKeyDetails?.namedCurve;
const signatureBytes = (r: Receipt) => Buffer.from(r.signature, "base64").length;

/** Runs `fn` with a client of user0 (in `userDir`) on `node`, closed afterwards. */
async function asUser<T>(
  node: NodeProcess,
  userDir: string,
  fn: (c: Awaited<ReturnType<typeof createNodeClient>>) => Promise<T>,
): Promise<T> {
  const c = await createNodeClient({
    url: node.url,
    serviceCert: node.serviceCert,
    cert: read(join(userDir, "user0_cert.pem")),
    key: read(join(userDir, "user0_privk.pem")),
  });
  try {
    return await fn(c);
  } finally {
    await c.close();
  }
}

/** A user write with respond-on-commit; its receipt. */
function committedWrite(node: NodeProcess, userDir: string, id: number): Promise<Receipt> {
  return asUser(node, userDir, async (c) => {
    const w = await c.write("/app/log/private", { id, msg: `m${id}` }, { waitForCommit: true });
    assert.equal(w.status, "Committed");
    return w.receipt as Receipt;
  });
}

/** The COSE form of `txId`'s receipt, as the node serves it (`?format=cose`). */
function servedCoseReceipt(node: NodeProcess, userDir: string, txId: string): Promise<ServedCoseReceipt> {
  return asUser(node, userDir, (c) => c.getCoseReceipt(txId));
}

test("a P-256 node: JSON and COSE receipts and its ledger verify everywhere; a restart keeps the key", async () => {
  const ws = await makeWorkspace({ nodeKey: { curve: "P-256" } });
  let node = await startNodeProcess(ws);
  const servicePem = join(ws.dir, "node0", "service_cert.pem");
  try {
    const receipt = await committedWrite(node, ws.dir, 1);
    assert.equal(curveOfCert(receipt.cert), "prime256v1", "the node certificate is for a P-256 key");
    assert.equal(curveOfCert(node.serviceCert), "secp384r1", "the service key stays P-384");
    assert.equal(signatureBytes(receipt), 64);
    assert.equal((await verifyReceipt(receipt, node.serviceCert)).transactionId, receipt.transaction_id);
    const file = join(ws.dir, "receipt.json");
    writeFileSync(file, JSON.stringify(receipt));
    const cli = runCli(["receipt", "verify", file, "--service-cert", servicePem]);
    assert.equal(cli.status, 0, cli.stderr);
    assert.match(cli.stdout, /receipt OK/);
    const signature = Buffer.from(receipt.signature, "base64");
    signature[7] = (signature[7] as number) ^ 0x01;
    const tampered = { ...receipt, signature: signature.toString("base64") };
    writeFileSync(file, JSON.stringify(tampered));
    const refused = runCli(["receipt", "verify", file, "--service-cert", servicePem]);
    assert.equal(refused.status, 1, refused.stdout);
    assert.match(refused.stderr, /COTERIE_ERR_RECEIPT_BAD_SIGNATURE/);
    await assert.rejects(verifyReceipt(tampered, node.serviceCert), {
      code: "COTERIE_ERR_RECEIPT_BAD_SIGNATURE",
    });

    // The sealed identity loads with its P-256 key; the COSE form the node serves is ES256.
    const identity = await sealedIdentity(join(ws.dir, "node0"));
    assert.equal(curveOf(identity.node.privateKey), "P-256");
    assert.equal(identity.nodeCert.trim(), receipt.cert.trim());
    const answer = await servedCoseReceipt(node, ws.dir, receipt.transaction_id);
    assert.equal(answer.cert.trim(), receipt.cert.trim(), "signed by the node that answered, this one");
    const cose = Buffer.from(answer.cose_receipt, "base64");
    assert.equal(decodeCoseSign1(cose).alg, COSE_ALG.ES256);
    writeFileSync(file, JSON.stringify(answer));
    const coseCli = runCli(["receipt", "verify", file, "--service-cert", servicePem]);
    assert.equal(coseCli.status, 0, coseCli.stderr);
    assert.match(coseCli.stdout, /receipt OK \(COSE\): transaction /);
    const forged = { ...answer.leaf_components, claims_digest: "22".repeat(32) };
    writeFileSync(file, JSON.stringify({ ...answer, leaf_components: forged }));
    const coseRefused = runCli(["receipt", "verify", file, "--service-cert", servicePem]);
    assert.equal(coseRefused.status, 1, coseRefused.stdout);
    assert.match(coseRefused.stderr, /COTERIE_ERR_RECEIPT_BAD_SIGNATURE/);
    const verified = await verifyCoseReceipt(cose, receipt.leaf_components, receipt.cert, node.serviceCert);
    assert.equal(verified.transactionId, receipt.transaction_id);
    const otherClaims = { ...receipt.leaf_components, claims_digest: "11".repeat(32) };
    await assert.rejects(verifyCoseReceipt(cose, otherClaims, receipt.cert, node.serviceCert), {
      code: "COTERIE_ERR_RECEIPT_BAD_SIGNATURE",
    });

    // A restart with the default curve configured keeps the sealed P-256 key (no re-keying).
    await killNode(node, "SIGTERM");
    writeFileSync(
      ws.configPath,
      JSON.stringify({ ...JSON.parse(read(ws.configPath)), nodeKey: { curve: "P-384" } }),
    );
    node = await startNodeProcess(ws);
    const after = await committedWrite(node, ws.dir, 2);
    assert.equal(after.node_id, receipt.node_id, "same node identity after the restart");
    assert.equal(signatureBytes(after), 64);
    await verifyReceipt(after, node.serviceCert);
    await killNode(node, "SIGTERM");

    // `coterie ledger verify` and the browser verifier pass on the ledger the P-256 node wrote.
    const verify = runCli(["ledger", "verify", join(ws.dir, "node0"), "--service-cert", servicePem]);
    assert.equal(verify.status, 0, verify.stderr);
    const signatures = Number(/(\d+) signatures/.exec(verify.stdout)?.[1]);
    assert.ok(signatures >= 2, verify.stdout);
    const dir = join(ws.dir, "node0", "ledger");
    const chunks = readdirSync(dir).map((name) => ({
      name,
      bytes: new Uint8Array(readFileSync(join(dir, name))),
    }));
    assert.equal(
      (await verifyLedgerChunks(chunks, { serviceCertPem: node.serviceCert })).signatures,
      signatures,
    );
  } finally {
    await killNode(node);
  }
});

test("a P-256 node joins a P-384 service, commits and leads; other key types are refused at join", async () => {
  const net = await startNetwork(3, {}, { nodeKey: { curve: "P-256" } });
  try {
    const curves = net.nodes.map((n) => curveOfCert(read(join(n.dataDir, "sealed", "node_cert.pem"))));
    assert.deepEqual(curves, ["secp384r1", "prime256v1", "prime256v1"]);
    const first = await findPrimary(net.nodes);
    assert.equal(first?.index, 0);
    const p384 = await committedWrite(first as NodeProcess, net.ws.dir, 1);
    assert.equal(signatureBytes(p384), 96, "the P-384 primary's receipt is as before");
    await verifyReceipt(p384, first!.serviceCert);
    // The joiners opened the ledger secrets sealed to their P-256 keys: they read private writes.
    for (const n of net.nodes.slice(1)) {
      const c = client(n, net.ws.user);
      const r = await c.get("/app/log/private?id=1");
      c.close();
      assert.equal(r.status, 200, `node ${n.index}: ${r.body}`);
    }

    // Keys that are not EC P-256/P-384 are refused before any evidence is looked at.
    const anon = client(first as NodeProcess, null);
    const keys = [
      generateKeyPairSync("rsa", { modulusLength: 2048 }),
      generateKeyPairSync("ed25519"),
      generateKeyPairSync("ec", { namedCurve: "P-521" }),
      generateKeyPairSync("ec", { namedCurve: "secp256k1" }),
    ];
    for (const k of keys) {
      const reply = await anon.post("/node/join", {
        public_key: publicKeyToPem(k.publicKey),
        evidence: {},
        rpc_address: "127.0.0.1:1",
        node_to_node_address: "127.0.0.1:2",
      });
      assert.equal(reply.status, 400, reply.body);
      assert.equal(reply.json().error.code, "COTERIE_ERR_INVALID_INPUT");
      assert.match(reply.json().error.message, /node keys are EC P-256 or P-384/);
    }
    anon.close();
    assert.equal((await networkOf(first as NodeProcess)).nodes.length, 3, "no node recorded");

    // Node 0 goes: a P-256 node leads and signs; the ledger now holds signatures on both curves.
    await killNode(net.nodes[0]!);
    let next: NodeProcess | null = null;
    await waitFor(
      async () => (next = await findPrimary(net.nodes.slice(1))) !== null,
      10_000,
      "a new primary",
    );
    const p256 = await committedWrite(next!, net.ws.dir, 2);
    assert.equal(curveOfCert(p256.cert), "prime256v1");
    assert.equal(signatureBytes(p256), 64);
    await verifyReceipt(p256, net.nodes[1]!.serviceCert);
    for (const n of net.nodes.slice(1)) await killNode(n, "SIGTERM");
    const ledger = join(net.nodes[1]!.dataDir, "ledger");
    const text = readdirSync(ledger)
      .filter((n) => n.endsWith(".chunk"))
      .map((n) => readFileSync(join(ledger, n)).toString("latin1"))
      .join("");
    const lengths = new Set(
      [...text.matchAll(/"signature":"([^"]+)"/g)].map((m) => Buffer.from(m[1]!, "base64").length),
    );
    assert.deepEqual([...lengths].sort(), [64, 96], "signatures on both curves");
    const verify = runCli(["ledger", "verify", net.nodes[1]!.dataDir, "--service-cert", net.serviceCertPath]);
    assert.equal(verify.status, 0, verify.stderr);
  } finally {
    for (const n of net.nodes) await killNode(n);
  }
});
