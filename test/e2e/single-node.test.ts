// The foundation end to end: a real node process, writes and reads over mutual TLS, respond-on-
// commit with a receipt that verifies offline, every kind of bad input refused with its code and
// nothing written, and a SIGKILL in the middle of a write load that loses nothing reported committed.
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { verifyServedCoseReceipt } from "../../src/crypto/cose-receipt.ts";
import { verifyReceipt } from "../../src/crypto/receipt.ts";
import {
  client,
  killNode,
  makeWorkspace,
  type NodeProcess,
  type Response,
  runCli,
  startNodeProcess,
  type Workspace,
} from "./harness.ts";

describe("single node", () => {
  let ws: Workspace;
  let node: NodeProcess;
  before(async () => {
    ws = await makeWorkspace({ http: { bodyBytesMax: 4096 } });
    node = await startNodeProcess(ws);
  });
  after(async () => {
    await killNode(node, "SIGTERM");
  });

  test("a node asked to join this single-node service is refused and exits, naming why", () => {
    const config = join(ws.dir, "joiner.config.json");
    writeFileSync(
      config,
      JSON.stringify({
        dataDir: join(ws.dir, "joiner"),
        rpc: { host: "127.0.0.1", port: 0 },
        nodeToNode: { host: "127.0.0.1", port: 0 },
        join: { target: node.url, serviceCertificate: join(ws.dir, "node0", "service_cert.pem"), pollMs: 50 },
      }),
    );
    const run = runCli(["start", "--config", config], 20_000);
    assert.equal(run.status, 1, `exit status (null: still polling after 20 s); stderr: ${run.stderr}`);
    assert.match(
      run.stderr,
      /coterie: COTERIE_ERR_CONSENSUS_JOIN_REFUSED: .*\(403\): COTERIE_ERR_CONSENSUS_JOIN_REFUSED: this service runs as a single node/,
    );
  });

  test("write, read, status, respond-on-commit with a receipt that verifies offline", async () => {
    const c = client(node, ws.user);
    const w = await c.post("/app/log/private", { id: 7, msg: "hello" });
    assert.equal(w.status, 200, w.body);
    const txId = w.json().transaction_id as string;
    assert.match(txId, /^\d+\.\d+$/);
    assert.equal(w.headers["x-coterie-transaction-id"], txId);
    const r = await c.get("/app/log/private?id=7");
    assert.deepEqual(r.json(), { id: 7, msg: "hello" });

    const waited = await c.post("/app/log/public?wait_for_commit=true", { id: 8, msg: "world" });
    assert.equal(waited.status, 200, waited.body);
    const body = waited.json();
    assert.equal(body.status, "Committed");
    const verified = await verifyReceipt(body.receipt, node.serviceCert);
    assert.equal(verified.transactionId, body.transaction_id);
    // The earlier write is committed by now too (the same or an earlier signature covers it).
    assert.equal((await c.get(`/app/tx?transaction_id=${txId}`)).json().status, "Committed");
    const receipt = await c.get(`/app/receipt?transaction_id=${txId}`);
    assert.equal(receipt.status, 200);
    await verifyReceipt(receipt.json(), node.serviceCert);
    // Its COSE form (RFC 9942), signed by this node over the same committed root.
    const cose = await c.get(`/app/receipt?transaction_id=${txId}&format=cose`);
    assert.equal(cose.status, 200, cose.body);
    const coseVerified = await verifyServedCoseReceipt(cose.json(), node.serviceCert);
    assert.equal(coseVerified.transactionId, txId);
    assert.equal(coseVerified.root, receipt.json().root);
    const badFormat = await c.get(`/app/receipt?transaction_id=${txId}&format=xml`);
    assert.equal(badFormat.status, 400);
    assert.equal(badFormat.json().error.code, "COTERIE_ERR_INVALID_INPUT");
    // A receipt verified against another service's certificate fails.
    const other = await makeWorkspace();
    const otherNode = await startNodeProcess(other);
    await assert.rejects(verifyReceipt(receipt.json(), otherNode.serviceCert));
    await killNode(otherNode);
    c.close();
  });

  test("transaction status: Unknown, Invalid and malformed ids", async () => {
    const c = client(node, ws.user);
    assert.equal((await c.get("/app/tx?transaction_id=9.999999")).json().status, "Unknown");
    assert.equal((await c.get("/app/tx?transaction_id=1.999999")).json().status, "Unknown");
    const bad = await c.get("/app/tx?transaction_id=abc");
    assert.equal(bad.status, 400);
    assert.equal(bad.json().error.code, "COTERIE_ERR_TX_INVALID_ID");
    c.close();
  });

  test("bad input gets a clear error with its code, and nothing is written", async () => {
    const c = client(node, ws.user);
    const before = (await c.get("/node/state")).json().last_seqno as number;
    const cases: Array<[Promise<Response>, number, string]> = [
      [
        c.raw("POST", "/app/log/private", "{not json", { "content-type": "application/json" }),
        400,
        "COTERIE_ERR_INVALID_JSON",
      ],
      [
        c.raw("POST", "/app/log/private", '{"id":1,"msg":"x"}', { "content-type": "text/plain" }),
        415,
        "COTERIE_ERR_UNSUPPORTED_CONTENT_TYPE",
      ],
      [c.post("/app/log/private", { id: 1, msg: "x".repeat(5000) }), 413, "COTERIE_ERR_BODY_TOO_LARGE"],
      [c.post("/app/log/private", { id: "one", msg: "x" }), 400, "COTERIE_ERR_INVALID_INPUT"],
      [c.get("/app/no/such/route"), 404, "COTERIE_ERR_NOT_FOUND"],
      [c.raw("DELETE", "/app/log/private", "", {}), 405, "COTERIE_ERR_METHOD_NOT_ALLOWED"],
      [client(node, null).post("/app/log/private", { id: 1, msg: "x" }), 401, "COTERIE_ERR_UNAUTHENTICATED"],
      [
        client(node, ws.other).post("/app/log/private", { id: 1, msg: "x" }),
        401,
        "COTERIE_ERR_UNAUTHENTICATED",
      ],
      [
        client(node, ws.member).post("/app/log/private", { id: 1, msg: "x" }),
        401,
        "COTERIE_ERR_UNAUTHENTICATED",
      ],
    ];
    for (const [pending, status, code] of cases) {
      const res = await pending;
      assert.equal(res.status, status, `${code}: ${res.body}`);
      assert.equal(res.json().error.code, code);
      assert.equal(typeof res.json().error.message, "string");
    }
    assert.equal((await c.get("/node/state")).json().last_seqno, before, "no entry was appended");
    assert.equal((await c.get("/app/log/private?id=1")).status, 404);
    c.close();
  });

  test("TLS 1.2 is refused: the service speaks TLS 1.3 only", async () => {
    const { connect } = await import("node:tls");
    const url = new URL(node.url);
    const outcome = await new Promise<string>((resolve) => {
      const socket = connect({
        host: url.hostname,
        port: Number(url.port),
        ca: node.serviceCert,
        maxVersion: "TLSv1.2",
      });
      socket.once("secureConnect", () => {
        socket.destroy();
        resolve("connected");
      });
      socket.once("error", (e: Error & { code?: string }) => resolve(e.code ?? e.message));
    });
    assert.notEqual(outcome, "connected");
  });

  test("health, readiness and Prometheus metrics", async () => {
    const c = client(node, null);
    assert.equal((await c.get("/node/health")).status, 200);
    assert.equal((await c.get("/node/ready")).status, 200);
    const m = await c.get("/node/metrics");
    assert.match(m.body, /^coterie_commit_seqno \d+$/m);
    assert.match(m.body, /^coterie_ledger_bytes \d+$/m);
    assert.match(m.body, /^coterie_ledger_syncs_total\{kind="append"\} [1-9]\d*$/m);
    assert.doesNotMatch(m.body, /coterie_consensus_messages/, "one node has no consensus messages");
    assert.match(m.body, /^coterie_commit_evidence_total\{source="inline"\} [1-9]\d*$/m);
    assert.match(m.body, /coterie_requests_total\{route="\/app\/log\/private",status="200"\} \d+/);
    assert.match(m.body, /coterie_request_duration_ms_bucket\{route="\/app\/log\/private",le="\+Inf"\} \d+/);
    assert.match(m.body, /^coterie_event_loop_delay_max_ms [0-9.]+$/m);
    assert.match(m.body, /^# TYPE coterie_gc_pauses_total counter$/m);
    c.close();
  });

  test("the primary's commit evidence comes from its worker thread, and receipts still verify", async () => {
    // The first seqnos are computed inline while the worker starts; writes keep coming until one
    // took its evidence from the worker's windows.
    const c = client(node, ws.user);
    const prefetched = async () => {
      const m = await c.get("/node/metrics");
      return Number(/^coterie_commit_evidence_total\{source="prefetch"\} (\d+)$/m.exec(m.body)?.[1] ?? "0");
    };
    const deadline = Date.now() + 20_000;
    let id = 1000;
    while ((await prefetched()) === 0 && Date.now() < deadline) {
      for (let i = 0; i < 10; i++) {
        const w = await c.post("/app/log/private", { id: id++, msg: "prefetch" });
        assert.equal(w.status, 200, w.body);
      }
    }
    assert.ok((await prefetched()) > 0, "no commit evidence came from the worker");
    const waited = await c.post("/app/log/private?wait_for_commit=true", { id: id++, msg: "after" });
    assert.equal(waited.status, 200, waited.body);
    await verifyReceipt(waited.json().receipt, node.serviceCert);
    c.close();
  });
});

test("a handler that throws changes nothing; reserved maps are refused to apps", async (t) => {
  const ws = await makeWorkspace();
  const node = await startNodeProcess(ws, join(import.meta.dirname, "fixtures/throwing-app.ts"));
  // Stopped even when an assertion fails: a running child would keep this file from ending.
  t.after(() => killNode(node));
  const c = client(node, ws.user);
  const before = (await c.get("/node/state")).json().last_seqno as number;
  const thrown = await c.post("/app/write-then-throw", {});
  assert.equal(thrown.status, 500);
  assert.equal(thrown.json().error.code, "COTERIE_ERR_INTERNAL");
  assert.match(thrown.json().error.error_id, /^[0-9a-f-]{36}$/);
  assert.doesNotMatch(thrown.body, /handler bug/, "the cause stays in the log");
  // The log line and the answer travel separately (stderr pipe, TLS socket): wait for the line.
  const errorId = thrown.json().error.error_id as string;
  for (let i = 0; i < 100 && !node.stderr().includes(errorId); i++)
    await new Promise((r) => setTimeout(r, 50));
  assert.match(node.stderr(), new RegExp(errorId));
  const refused = await c.post("/app/write-then-refuse", {});
  assert.equal(refused.status, 403);
  assert.equal(refused.json().error.code, "COTERIE_ERR_FORBIDDEN");
  const reserved = await c.post("/app/reserved", {});
  assert.equal(reserved.json().error.code, "COTERIE_ERR_KV_RESERVED_MAP");
  const readonlyWrite = await c.get("/app/read-that-writes");
  assert.equal(readonlyWrite.status, 403);
  assert.equal(readonlyWrite.json().error.code, "COTERIE_ERR_FORBIDDEN");
  assert.deepEqual((await c.get("/app/read")).json(), { poisoned: null, refused: null, readonly: null });
  assert.equal((await c.get("/node/state")).json().last_seqno, before);
  c.close();
});

test("SIGKILL during a write load loses nothing reported committed; the ledger verifies", async () => {
  const ws = await makeWorkspace({ signatures: { intervalTxs: 50, intervalMs: 5 } });
  let node = await startNodeProcess(ws);
  const c = client(node, ws.user);
  const committed = new Map<number, string>();
  let stop = false;
  let nextId = 0;
  const writer = async () => {
    while (!stop) {
      const id = nextId++;
      const msg = `m${id}`;
      try {
        const r = await c.post("/app/log/private?wait_for_commit=true", { id, msg });
        if (r.status === 200 && r.json().status === "Committed") committed.set(id, msg);
      } catch {
        return; // connection cut by the kill
      }
    }
  };
  const writers = Array.from({ length: 16 }, writer);
  await new Promise((r) => setTimeout(r, 1500));
  await killNode(node, "SIGKILL");
  stop = true;
  await Promise.all(writers);
  c.close();
  assert.ok(committed.size > 50, `enough writes committed before the kill (${committed.size})`);

  node = await startNodeProcess(ws);
  const c2 = client(node, ws.user);
  for (const [id, msg] of committed) {
    const r = await c2.get(`/app/log/private?id=${id}`);
    assert.equal(r.status, 200, `committed record ${id} survived`);
    assert.equal(r.json().msg, msg);
  }
  // Writes continue after the restart, in a new view.
  const w = await c2.post("/app/log/private?wait_for_commit=true", { id: 1_000_000, msg: "after" });
  assert.equal(w.json().status, "Committed");
  assert.match(w.json().transaction_id, /^2\./);
  c2.close();
  await killNode(node, "SIGTERM");
  const verify = runCli([
    "ledger",
    "verify",
    join(ws.dir, "node0", "ledger"),
    "--service-cert",
    join(ws.dir, "node0", "service_cert.pem"),
  ]);
  assert.equal(verify.status, 0, verify.stderr);
  assert.match(verify.stdout, /^ledger OK: /);
});

test("ledger verify names a tampered entry; receipt verify checks a receipt file", async () => {
  const { readdirSync, readFileSync, writeFileSync } = await import("node:fs");
  const ws = await makeWorkspace();
  const node = await startNodeProcess(ws);
  const c = client(node, ws.user);
  const w = await c.post("/app/log/private?wait_for_commit=true", { id: 1, msg: "evidence" });
  const receiptPath = join(ws.dir, "receipt.json");
  writeFileSync(receiptPath, w.body);
  c.close();
  await killNode(node, "SIGTERM");
  const certPath = join(ws.dir, "node0", "service_cert.pem");
  const ok = runCli(["receipt", "verify", receiptPath, "--service-cert", certPath]);
  assert.equal(ok.status, 0, ok.stderr);
  const tampered = JSON.parse(readFileSync(receiptPath, "utf8"));
  tampered.receipt.leaf_components.claims_digest = "11".repeat(32);
  writeFileSync(receiptPath, JSON.stringify(tampered));
  const bad = runCli(["receipt", "verify", receiptPath, "--service-cert", certPath]);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /COTERIE_ERR_RECEIPT/);

  const ledgerDir = join(ws.dir, "node0", "ledger");
  const chunk = join(ledgerDir, readdirSync(ledgerDir).find((n) => n.endsWith(".chunk")) as string);
  const bytes = readFileSync(chunk);
  const at = bytes.indexOf(Buffer.from("public:coterie.gov.users.certs"));
  bytes[at + 3] = (bytes[at + 3] as number) ^ 0x20;
  writeFileSync(chunk, bytes);
  const caught = runCli(["ledger", "verify", ledgerDir, "--service-cert", certPath]);
  assert.equal(caught.status, 1);
  assert.match(
    caught.stderr,
    /COTERIE_ERR_LEDGER_VERIFY_FAILED: entry 1 \(ledger_000000000001\.chunk at byte \d+\)/,
  );
});

test("adaptive signing: with a 60 s interval and minIntervalMs 0, a write waiting for its commit is signed at once", async () => {
  // Only adaptive signing can sign this write within the request's wait: the timer would take 60 s.
  const ws = await makeWorkspace({
    nodeKey: { curve: "P-256" },
    signatures: { intervalMs: 60_000, minIntervalMs: 0 },
    http: { commitWaitMsMax: 10_000 },
  });
  const node = await startNodeProcess(ws);
  const c = client(node, ws.user);
  try {
    for (const id of [1, 2, 3]) {
      const w = await c.post("/app/log/private?wait_for_commit=true", { id, msg: `m${id}` });
      assert.equal(w.status, 200, w.body);
      assert.equal(w.json().status, "Committed");
      await verifyReceipt(w.json().receipt, node.serviceCert);
    }
  } finally {
    c.close();
    await killNode(node, "SIGTERM");
  }
});

test("the history index is made by the first historical query, or before serving with historyIndex.atStart", async () => {
  const ws = await makeWorkspace();
  let node = await startNodeProcess(ws);
  let c = client(node, ws.user);
  const metric = async (name: string) => {
    const m = new RegExp(`^${name} (-?\\d+)$`, "m").exec((await c.get("/node/metrics")).body);
    assert.ok(m !== null, `metric ${name} is exported`);
    return Number(m[1]);
  };
  try {
    const written: number[] = [];
    for (let id = 0; id < 3; id++) {
      const w = await c.post("/app/log/private?wait_for_commit=true", { id, msg: `m${id}` });
      assert.equal(w.status, 200);
      written.push(Number(String(w.json().transaction_id).split(".")[1]));
    }
    const last = Math.max(...written);
    assert.equal(await metric("coterie_history_index_seqno"), -1, "no historical query yet, so no index");
    const h = await c.get("/app/log/private/history?id=1");
    assert.equal(h.status, 200);
    assert.deepEqual(
      h.json().entries.map((e: { msg: string }) => e.msg),
      ["m1"],
    );
    // The query made the index; it catches up with the commit in the background.
    for (let i = 0; i < 100 && (await metric("coterie_history_index_seqno")) < last; i++)
      await new Promise((r) => setTimeout(r, 50));
    assert.ok((await metric("coterie_history_index_seqno")) >= last);
    c.close();
    await killNode(node, "SIGTERM");

    // Restarted with atStart, the node indexes its ledger before it serves: no query needed.
    const config = JSON.parse(readFileSync(ws.configPath, "utf8"));
    writeFileSync(ws.configPath, JSON.stringify({ ...config, historyIndex: { atStart: true } }));
    node = await startNodeProcess(ws);
    c = client(node, ws.user);
    assert.ok((await metric("coterie_history_index_seqno")) >= last, "indexed before serving");
    const again = await c.get("/app/log/private/history?id=2");
    assert.deepEqual(
      again.json().entries.map((e: { msg: string }) => e.msg),
      ["m2"],
    );
  } finally {
    c.close();
    await killNode(node, "SIGTERM");
  }
});
