// The snapshot routes on a real HTTPS frontend and the joiner that fetches from them: metadata, then
// the file streamed; only a Trusted node is answered; a name that is not a committed snapshot is 404
// and touches nothing; the joiner keeps a file only if it is exactly the one the receipt proves, and
// leaves nothing behind otherwise. A stand-in target (same certificate) serves what a faulty or
// older node would.
import assert from "node:assert/strict";
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer, request, type Server } from "node:https";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { generateKeyPair, privateKeyToPem } from "../../../src/crypto/keys.ts";
import { certificateId, endorseCertificate } from "../../../src/crypto/x509.ts";
import { utf8 } from "../../../src/kv/index.ts";
import { validateConfig } from "../../../src/node/config.ts";
import type { Engine } from "../../../src/node/engine.ts";
import { Frontend } from "../../../src/node/frontend.ts";
import type { Identity } from "../../../src/node/identity.ts";
import { createLogger } from "../../../src/node/logger.ts";
import { Metrics } from "../../../src/node/metrics.ts";
import { fetchLatestSnapshot } from "../../../src/node/snapshot-fetch.ts";
import { committedSnapshots, type SnapshotFile } from "../../../src/node/snapshot-files.ts";
import type { LatestSnapshotResponse } from "../../../src/node/snapshot-route.ts";
import { SnapshotService } from "../../../src/node/snapshot-service.ts";
import { nodeInfo } from "../../../src/tables/identities.ts";
import { tempDir } from "../ledger/helpers.ts";
import { makeEngine } from "./engine-fixture.ts";

type Reply = { status: number; headers: IncomingMessage["headers"]; body: Buffer };

let engine: Engine;
let frontend: Frontend;
let target: string;
let snapshotsDir: string;
let snapshot: SnapshotFile;
let joiner: Identity;
let pending: Identity;
const quiet = createLogger("error");

async function nodeIdentity(status: "Trusted" | "Pending"): Promise<Identity> {
  const key = generateKeyPair("P-384");
  const id = engine.identity;
  const cert = await endorseCertificate(key, id.service, id.serviceCert, {
    subject: "CN=Coterie node",
    validityDays: 30,
  });
  const nodeId = certificateId(cert);
  engine.appendInternal((tx) =>
    nodeInfo.in(tx).put(nodeId, { cert, status, rpc_address: "127.0.0.1:1", platform: "virtual" }),
  );
  return { ...id, node: key, nodeCert: cert, nodeId };
}

/** GET with the request target sent as written (no client-side normalisation). */
function get(base: string, path: string, as: Identity | null): Promise<Reply> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path,
        method: "GET",
        ca: engine.identity.serviceCert,
        checkServerIdentity: () => undefined,
        ...(as === null ? {} : { key: privateKeyToPem(as.node.privateKey), cert: as.nodeCert }),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
      },
    );
    req.on("error", reject);
    req.end();
  });
}

before(async () => {
  const dataDir = tempDir();
  snapshotsDir = join(dataDir, "snapshots");
  engine = await makeEngine({ signatureIntervalTxs: 1 });
  joiner = await nodeIdentity("Trusted");
  pending = await nodeIdentity("Pending");
  // Enough state for the file to span several read chunks (64 KiB).
  for (let batch = 0; batch < 4; batch++) {
    const { txId } = await engine.execute(
      (tx) => {
        const records = tx.typed("records", utf8, utf8);
        for (let i = 0; i < 500; i++) records.put(`${batch}.${i}`, `record ${batch}.${i} ${"x".repeat(80)}`);
      },
      { reservedWrites: false },
    );
    assert.ok(txId !== null);
    assert.equal(await engine.waitForCommit(txId, 5000), "Committed");
  }
  const service = new SnapshotService(engine, snapshotsDir, 1, quiet);
  assert.ok((await service.tick()) !== null, "a snapshot is committed");
  snapshot = committedSnapshots(snapshotsDir)[0] as SnapshotFile;
  ({ frontend, url: target } = await frontendOn({ dataDir }));
});

/** A frontend of the engine with these configuration fields, listening on a chosen port. */
async function frontendOn(fields: Record<string, unknown>): Promise<{ frontend: Frontend; url: string }> {
  const f = new Frontend({
    config: validateConfig(fields),
    engine,
    mounts: [],
    log: quiet,
    metrics: new Metrics(),
    serviceOpen: () => true,
    selfRetired: () => false,
    tls: { key: privateKeyToPem(engine.identity.node.privateKey), cert: engine.identity.nodeCert },
  });
  const { port } = await f.listen("127.0.0.1", 0);
  return { frontend: f, url: `https://127.0.0.1:${port}` };
}

after(async () => {
  await frontend.close();
  await engine.close();
});

/** A joiner's data directory, its log, and what its snapshots directory holds afterwards. */
async function fetchAs(from: string, options: { fileBytesMax?: number; busyAttemptsMax?: number } = {}) {
  const dir = join(tempDir(), "snapshots");
  const lines: string[] = [];
  const got = await fetchLatestSnapshot(
    from,
    joiner,
    dir,
    createLogger("info", (l) => lines.push(l)),
    options,
  );
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {}
  return { got, names, log: lines.join("") };
}

/** A stand-in target with the node's certificate: each path answers with `routes[path]`. */
async function standIn(
  routes: Record<string, (res: ServerResponse) => void>,
): Promise<{ url: string; hits: string[]; server: Server }> {
  const hits: string[] = [];
  const server = createServer(
    { key: privateKeyToPem(engine.identity.node.privateKey), cert: engine.identity.nodeCert },
    (req, res) => {
      hits.push(req.url ?? "");
      const route = routes[req.url ?? ""];
      if (route) route(res);
      else res.writeHead(404).end();
    },
  );
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address() as { port: number };
  return { url: `https://127.0.0.1:${address.port}`, hits, server };
}

const closeServer = (server: Server) =>
  new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });

test("GET /node/snapshot/latest is metadata only; the file route streams the file", async () => {
  const meta = await get(target, "/node/snapshot/latest", joiner);
  assert.equal(meta.status, 200, meta.body.toString());
  const answer = JSON.parse(meta.body.toString()) as LatestSnapshotResponse;
  assert.deepEqual(Object.keys(answer).sort(), ["bytes", "evidence_seqno", "file", "receipt", "seqno"]);
  assert.equal(answer.seqno, snapshot.seqno);
  assert.equal(answer.evidence_seqno, snapshot.evidenceSeqno);
  assert.equal(answer.bytes, statSync(snapshot.path).size);
  assert.ok(answer.bytes > 3 * 64 * 1024, `a file of ${answer.bytes} bytes spans several chunks`);
  assert.equal(answer.file, `/node/snapshot/${snapshot.seqno}_${snapshot.evidenceSeqno}`);

  const file = await get(target, answer.file, joiner);
  assert.equal(file.status, 200);
  assert.equal(file.headers["content-type"], "application/octet-stream");
  assert.equal(file.headers["content-length"], String(answer.bytes));
  assert.ok(file.body.equals(readFileSync(snapshot.path)));
});

test("a joiner stores the verified file as committed, readable by its user only", async () => {
  const { got, names, log } = await fetchAs(target);
  assert.ok(got !== null, log);
  assert.deepEqual(names, [`snapshot_${snapshot.seqno}_${snapshot.evidenceSeqno}.committed`]);
  assert.equal(got.seqno, snapshot.seqno);
  assert.equal(got.evidenceSeqno, snapshot.evidenceSeqno);
  assert.ok(readFileSync(got.path).equals(readFileSync(snapshot.path)));
  assert.equal(statSync(got.path).mode & 0o777, 0o600);
});

test("only a Trusted node is answered, on both routes", async () => {
  const file = `/node/snapshot/${snapshot.seqno}_${snapshot.evidenceSeqno}`;
  for (const path of ["/node/snapshot/latest", file]) {
    const anonymous = await get(target, path, null);
    assert.equal(anonymous.status, 401, path);
    assert.match(anonymous.body.toString(), /COTERIE_ERR_UNAUTHENTICATED/);
    const notTrusted = await get(target, path, pending);
    assert.equal(notTrusted.status, 403, path);
    assert.match(notTrusted.body.toString(), /COTERIE_ERR_FORBIDDEN/);
  }
});

test("a name that is not a committed snapshot is 404 and touches nothing", async () => {
  const { seqno: s, evidenceSeqno: e } = snapshot;
  const before = readdirSync(snapshotsDir).map((n) => [n, statSync(join(snapshotsDir, n)).mtimeMs]);
  const names = [
    "../x",
    "..%2F..%2Fsealed",
    "%2e%2e%2fx",
    "abc",
    `${s}_x`,
    `${s}_${e + 1}`,
    `${s + 1}_${e}`,
    `0${s}_${e}`,
    `${s}_${e}.committed`,
    `snapshot_${s}_${e}.committed`,
    `${s}_${e}/x`,
    `${"9".repeat(40)}_1`,
    "",
  ];
  for (const name of names) {
    const reply = await get(target, `/node/snapshot/${name}`, joiner);
    assert.equal(reply.status, 404, name);
    assert.match(reply.body.toString(), /COTERIE_ERR_NOT_FOUND/, name);
  }
  const after = readdirSync(snapshotsDir).map((n) => [n, statSync(join(snapshotsDir, n)).mtimeMs]);
  assert.deepEqual(after, before);
});

test("a tampered byte in the streamed file is refused and leaves no file behind", async () => {
  const original = readFileSync(snapshot.path);
  const tampered = Buffer.from(original);
  const at = Math.floor(tampered.length / 2);
  tampered[at] = (tampered[at] as number) ^ 1;
  writeFileSync(snapshot.path, tampered);
  try {
    const { got, names, log } = await fetchAs(target);
    assert.equal(got, null);
    assert.deepEqual(names, []);
    assert.match(log, /SHA-256 is not the receipt's claims/);
  } finally {
    writeFileSync(snapshot.path, original);
  }
});

test("a file larger or smaller than announced, or beyond the limit, is refused", async () => {
  const meta = JSON.parse((await get(target, "/node/snapshot/latest", joiner)).body.toString());
  const bytes = readFileSync(snapshot.path);
  const longer = Buffer.concat([bytes, Buffer.from([0])]);
  const cases: Array<[string, (res: ServerResponse) => void, RegExp]> = [
    [
      "content-length above the announced size",
      (res) => res.writeHead(200, { "content-length": longer.length }).end(longer),
      /content-length/,
    ],
    ["a longer body, chunked", (res) => res.writeHead(200).end(longer), /more than the \d+ bytes announced/],
    [
      "a shorter body, chunked",
      (res) => res.writeHead(200).end(bytes.subarray(1)),
      /bytes received, \d+ announced/,
    ],
  ];
  for (const [what, serve, why] of cases) {
    const { url, server } = await standIn({
      "/node/snapshot/latest": (res) => res.writeHead(200).end(JSON.stringify(meta)),
      [meta.file]: serve,
    });
    try {
      const { got, names, log } = await fetchAs(url);
      assert.equal(got, null, what);
      assert.deepEqual(names, [], what);
      assert.match(log, why, what);
    } finally {
      await closeServer(server);
    }
  }
  // Beyond the joiner's limit: refused before the file is asked for.
  const { url, hits, server } = await standIn({
    "/node/snapshot/latest": (res) => res.writeHead(200).end(JSON.stringify(meta)),
  });
  try {
    const { got, names, log } = await fetchAs(url, { fileBytesMax: bytes.length - 1 });
    assert.equal(got, null);
    assert.deepEqual(names, []);
    assert.match(log, /more than the \d+ accepted/);
    assert.deepEqual(hits, ["/node/snapshot/latest"]);
  } finally {
    await closeServer(server);
  }
});

test("the file is fetched only from the target, only if the receipt verifies", async () => {
  const meta = JSON.parse((await get(target, "/node/snapshot/latest", joiner)).body.toString());
  const notOnTarget = /not a snapshot path on the target/;
  const variants: Array<[Record<string, unknown>, RegExp]> = [
    [{ ...meta, file: "//127.0.0.2/node/snapshot/1_2" }, notOnTarget],
    [{ ...meta, file: "https://127.0.0.2/node/snapshot/1_2" }, notOnTarget],
    [{ ...meta, file: "/gov/v1/recovery" }, notOnTarget],
    [{ ...meta, evidence_seqno: meta.evidence_seqno + 1 }, /not for the evidence transaction/],
    [{ ...meta, receipt: { ...meta.receipt, signature: "AAAA" } }, /signature|receipt/i],
  ];
  for (const [variant, why] of variants) {
    const { url, hits, server } = await standIn({
      "/node/snapshot/latest": (res) => res.writeHead(200).end(JSON.stringify(variant)),
    });
    try {
      const { got, names, log } = await fetchAs(url);
      assert.equal(got, null, JSON.stringify(variant.file));
      assert.match(log, why);
      assert.deepEqual(names, []);
      assert.deepEqual(hits, ["/node/snapshot/latest"]);
    } finally {
      await closeServer(server);
    }
  }
});

test("an older target's answer (the file in base64) is still accepted, with the same checks", async () => {
  const meta = JSON.parse((await get(target, "/node/snapshot/latest", joiner)).body.toString());
  const bytes = readFileSync(snapshot.path);
  const legacy = (file: Buffer) => ({
    seqno: meta.seqno,
    evidence_seqno: meta.evidence_seqno,
    snapshot: file.toString("base64"),
    receipt: meta.receipt,
  });
  const tampered = Buffer.from(bytes);
  tampered[100] = (tampered[100] as number) ^ 1;
  for (const [file, accepted] of [
    [bytes, true],
    [tampered, false],
  ] as const) {
    const { url, server } = await standIn({
      "/node/snapshot/latest": (res) => res.writeHead(200).end(JSON.stringify(legacy(file))),
    });
    try {
      const { got, names } = await fetchAs(url);
      assert.equal(got !== null, accepted);
      if (got !== null) assert.ok(readFileSync(got.path).equals(bytes));
      else assert.deepEqual(names, []);
    } finally {
      await closeServer(server);
    }
  }
});

test("at most snapshots.servesMax files are sent at once, and a transfer holds no request slot", {
  timeout: 30_000,
}, async () => {
  // Its own data directory: a 16 MiB file under a committed snapshot's name (the route streams
  // whatever the file holds), more than loopback's socket buffers take while nobody reads.
  const dataDir = tempDir();
  mkdirSync(join(dataDir, "snapshots"));
  const name = "7_9";
  const big = Buffer.alloc(16 * 1024 * 1024, 0x5a);
  writeFileSync(join(dataDir, "snapshots", `snapshot_${name}.committed`), big);
  const { frontend: limited, url: base } = await frontendOn({
    dataDir,
    snapshots: { servesMax: 1 },
    http: { requestsInFlightMax: 1 },
  });
  try {
    // A transfer that stalls: its response is not read until the end of the test.
    const first = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = request(
        `${base}/node/snapshot/${name}`,
        {
          ca: engine.identity.serviceCert,
          checkServerIdentity: () => undefined,
          key: privateKeyToPem(joiner.node.privateKey),
          cert: joiner.nodeCert,
        },
        (res) => {
          res.pause();
          resolve(res);
        },
      );
      req.on("error", reject);
      req.end();
    });
    assert.equal(first.statusCode, 200);

    const second = await get(base, `/node/snapshot/${name}`, joiner);
    assert.equal(second.status, 503);
    assert.equal(JSON.parse(second.body.toString()).error.code, "COTERIE_ERR_TOO_MANY_REQUESTS");
    assert.equal(second.headers["retry-after"], "1");
    // With `requestsInFlightMax` 1 and a transfer running, other requests are still served.
    const state = await get(base, "/node/state", null);
    assert.equal(state.status, 200, state.body.toString());

    let received = 0;
    first.on("data", (c: Buffer) => {
      received += c.length;
    });
    first.resume();
    await new Promise((resolve) => first.on("end", resolve));
    assert.equal(received, big.length);
    const third = await get(base, `/node/snapshot/${name}`, joiner);
    assert.equal(third.status, 200);
    assert.ok(third.body.equals(big));
  } finally {
    await limited.close();
  }
});

test("a joiner asks a busy target again after its retry-after, a bounded number of times", async () => {
  const meta = JSON.parse((await get(target, "/node/snapshot/latest", joiner)).body.toString());
  const bytes = readFileSync(snapshot.path);
  const busy = (res: ServerResponse) =>
    res
      .writeHead(503, { "retry-after": "1", "content-type": "application/json" })
      .end('{"error":{"code":"COTERIE_ERR_TOO_MANY_REQUESTS","message":"busy"}}');
  let fileAsks = 0;
  const { url, hits, server } = await standIn({
    "/node/snapshot/latest": (res) => res.writeHead(200).end(JSON.stringify(meta)),
    [meta.file]: (res) => {
      if (++fileAsks <= 2) busy(res);
      else res.writeHead(200, { "content-length": bytes.length }).end(bytes);
    },
  });
  try {
    const started = Date.now();
    const { got, log } = await fetchAs(url);
    assert.ok(got !== null, log);
    assert.ok(readFileSync(got.path).equals(bytes));
    assert.equal(fileAsks, 3);
    assert.ok(Date.now() - started >= 2000, "it waited the retry-after (1 s) twice");
    assert.match(log, /busy sending snapshots/);
    assert.deepEqual(hits, [
      "/node/snapshot/latest",
      meta.file,
      "/node/snapshot/latest",
      meta.file,
      "/node/snapshot/latest",
      meta.file,
    ]);
  } finally {
    await closeServer(server);
  }
  // Busy every time: after `busyAttemptsMax` attempts it replays from seqno 1, leaving nothing.
  const always = await standIn({ "/node/snapshot/latest": busy });
  try {
    const { got, names, log } = await fetchAs(always.url, { busyAttemptsMax: 2 });
    assert.equal(got, null);
    assert.deepEqual(names, []);
    assert.match(log, /stayed busy; replaying the ledger from seqno 1/);
    assert.equal(always.hits.length, 2);
  } finally {
    await closeServer(always.server);
  }
});
