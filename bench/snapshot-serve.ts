// Benchmark (not a test): how long serving a snapshot to a joiner holds the serving node's event
// loop, and what it adds to the peak resident memory of both sides. The serving process fills a
// `Store` with N logging-app records (kept in memory, as a primary holds its store), writes the
// snapshot file with the snapshot service's writer, commits its evidence on a single-node engine,
// and answers on a real HTTPS frontend (mutual TLS); a joiner in a child process fetches it.
//   --path stream  the routes and the joiner of today: metadata, then the file streamed from disk
//                  into `.fetching` (fetchLatestSnapshot, every check)
//   --path json    what they did before: `/node/snapshot/latest` with the file in base64 in one
//                  JSON answer (read, encoded and serialised in one turn); the joiner buffered the
//                  answer, decoded it and wrote the file
// Prints the serve time (request to the child's exit), the longest gap between ticks of a 1 ms
// interval timer in the serving process meanwhile, the rise of its VmHWM (peak RSS, reset after
// the fill and a GC), and the joiner's own VmHWM. Run each path in its own process, alternating.
// Usage: node --expose-gc bench/snapshot-serve.ts [records] [--path stream|json]
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateKeyPair, privateKeyFromPem, privateKeyToPem } from "../src/crypto/keys.ts";
import { verifyReceipt } from "../src/crypto/receipt.ts";
import { certificateId, endorseCertificate } from "../src/crypto/x509.ts";
import { Store, utf8 } from "../src/kv/index.ts";
import { Ledger } from "../src/ledger/ledger.ts";
import { snapshotDigest } from "../src/ledger/snapshot.ts";
import { type BuiltinCall, builtinRoutes } from "../src/node/builtin-routes.ts";
import { validateConfig } from "../src/node/config.ts";
import { Engine } from "../src/node/engine.ts";
import { Frontend } from "../src/node/frontend.ts";
import { createIdentity, type Identity } from "../src/node/identity.ts";
import { createLogger } from "../src/node/logger.ts";
import { Metrics } from "../src/node/metrics.ts";
import { LocalReplicator } from "../src/node/replicator.ts";
import { fetchLatestSnapshot } from "../src/node/snapshot-fetch.ts";
import { latestCommittedSnapshot } from "../src/node/snapshot-files.ts";
import { writeSnapshotFile } from "../src/node/snapshot-service.ts";
import { ViewHistory } from "../src/node/view-history.ts";
import { nodeInfo } from "../src/tables/identities.ts";
import { statusKiB, watchLoop } from "./loop-watch.ts";

const argPath = (i: number) => process.argv[process.argv.indexOf("--path") + i];

// The joiner, in a child process: `--joiner <stream|json> <target> <workdir>` (identity in workdir).
if (process.argv[2] === "--joiner") {
  const [, , , path, target, work] = process.argv as string[];
  const id = JSON.parse(readFileSync(join(work as string, "joiner.json"), "utf8"));
  const identity = {
    node: { privateKey: privateKeyFromPem(id.key) },
    nodeCert: id.cert,
    serviceCert: id.serviceCert,
  } as unknown as Identity;
  const dir = join(work as string, "joiner-snapshots");
  const start = performance.now();
  let ok: boolean;
  if (path === "stream") {
    ok = (await fetchLatestSnapshot(target as string, identity, dir, createLogger("warn"))) !== null;
  } else {
    // The previous joiner: the whole answer buffered, decoded, checked, written.
    const body = await new Promise<Buffer>((resolve, reject) => {
      const req = request(
        `${target}/node/snapshot/latest`,
        { key: id.key, cert: id.cert, ca: id.serviceCert, checkServerIdentity: () => undefined },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => resolve(Buffer.concat(chunks)));
        },
      );
      req.on("error", reject);
      req.end();
    });
    const answer = JSON.parse(body.toString("utf8"));
    const bytes = Buffer.from(answer.snapshot, "base64");
    const verified = await verifyReceipt(answer.receipt, id.serviceCert);
    ok = verified.claimsDigest === snapshotDigest(bytes);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `snapshot_${answer.seqno}_${answer.evidence_seqno}.committed`), bytes);
  }
  console.log(JSON.stringify({ ok, fetchMs: performance.now() - start, hwmMiB: statusKiB("VmHWM") / 1024 }));
  process.exit(0);
}

const recordCount = Number(process.argv.find((a, i) => i > 1 && /^\d+$/.test(a)) ?? 1_000_000);
const path = process.argv.includes("--path") ? argPath(1) : "stream";
if (path !== "stream" && path !== "json") throw new RangeError("--path is stream or json");

// The serving node: a single-node engine, its store filled like the logging app's.
const work = mkdtempSync(join(tmpdir(), "coterie-snapshot-serve-"));
const dataDir = join(work, "node");
const snapshotsDir = join(dataDir, "snapshots");
mkdirSync(snapshotsDir, { recursive: true });
const { ledger } = Ledger.open(join(dataDir, "ledger"), { chunkBytesMax: 1 << 24, batchBytesMax: 1 << 22 });
const engine = new Engine({
  store: new Store(),
  ledger,
  identity: await createIdentity([]),
  replicator: new LocalReplicator(ledger, (e) => {
    throw e;
  }),
  views: new ViewHistory(1),
  committedSeqno: 0,
  options: {
    signatureIntervalTxs: 1_000_000,
    signatureIntervalMs: 1000,
    txAttemptsMax: 3,
    uncommittedTxsMax: 1_000_000,
  },
});
const store = new Store();
for (let first = 0; first < recordCount; first += 1000) {
  const tx = store.beginTx();
  const records = tx.typed("records", utf8, utf8);
  for (let id = first; id < Math.min(first + 1000, recordCount); id++)
    records.put(String(id), `benchmark record ${id} abcdefghijklmnopqrstuvwxyz`);
  if (store.commit(tx).status !== "ok") throw new Error(`insert batch ${first} did not commit`);
  store.compact(store.version);
}
// The joiner: a node certificate endorsed by the service, recorded Trusted.
const joinerKey = generateKeyPair("P-384");
const s = engine.identity;
const joinerCert = await endorseCertificate(joinerKey, s.service, s.serviceCert, {
  subject: "CN=joiner",
  validityDays: 1,
});
engine.appendInternal((tx) =>
  nodeInfo.in(tx).put(certificateId(joinerCert), {
    cert: joinerCert,
    status: "Trusted",
    rpc_address: "127.0.0.1:1",
    platform: "virtual",
  }),
);
// The file is the filled store's (its seqno is that store's version); the engine's ledger is
// padded past it so that the evidence transaction follows the snapshot, as on a real node.
const seqno = store.version;
const pad = (tx: Parameters<Parameters<Engine["appendInternal"]>[0]>[0]) =>
  tx.typed("public:bench.pad", utf8, utf8).put("seqno", String(engine.lastSeqno));
while (engine.lastSeqno <= seqno) engine.appendInternal(pad);
engine.appendSignature();
const pending = join(snapshotsDir, `snapshot_${seqno}`);
const secret = engine.identity.ledgerSecrets[0] as { version: number; key: Uint8Array };
const { digest } = await writeSnapshotFile(pending, store.snapshotAt(store.version), [], [[1, 1]], secret);
const evidence = engine.appendInternal(pad, Buffer.from(digest, "hex"));
engine.appendSignature();
if ((await engine.waitForCommit({ view: engine.view, seqno: evidence }, 10_000)) !== "Committed")
  throw new Error("evidence did not commit");
const committed = join(snapshotsDir, `snapshot_${seqno}_${evidence}.committed`);
writeFileSync(committed, readFileSync(pending));
rmSync(pending);
const fileBytes = readFileSync(committed).length;
writeFileSync(
  join(work, "joiner.json"),
  JSON.stringify({
    key: privateKeyToPem(joinerKey.privateKey),
    cert: joinerCert,
    serviceCert: s.serviceCert,
  }),
);

if (path === "json") {
  // The previous handler, as it was (authorisation left to the real route's checks, elsewhere).
  const latest = builtinRoutes.find((r) => r.path === "/node/snapshot/latest");
  if (latest === undefined) throw new Error("no /node/snapshot/latest route");
  latest.handle = ({ res, deps }: BuiltinCall) => {
    const file = latestCommittedSnapshot(join(deps.config.dataDir, "snapshots"));
    if (file === null) throw new Error("no snapshot");
    const receipt = deps.engine.receipt({
      view: deps.engine.views.viewOf(file.evidenceSeqno),
      seqno: file.evidenceSeqno,
    });
    const text = JSON.stringify({
      seqno: file.seqno,
      evidence_seqno: file.evidenceSeqno,
      snapshot: readFileSync(file.path).toString("base64"),
      receipt,
    });
    res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
    res.end(text);
    return 200;
  };
}
const frontend = new Frontend({
  config: validateConfig({ dataDir }),
  engine,
  mounts: [],
  log: createLogger("warn"),
  metrics: new Metrics(),
  serviceOpen: () => true,
  selfRetired: () => false,
  tls: { key: privateKeyToPem(s.node.privateKey), cert: s.nodeCert },
});
const { port } = await frontend.listen("127.0.0.1", 0);

const watch = watchLoop();
const start = performance.now();
const child = spawn(
  process.execPath,
  [process.argv[1] as string, "--joiner", path, `https://127.0.0.1:${port}`, work],
  { stdio: ["ignore", "pipe", "inherit"] },
);
let out = "";
child.stdout.on("data", (c: Buffer) => {
  out += c.toString();
});
await new Promise((resolve) => child.on("exit", resolve));
const serveMs = performance.now() - start;
const { gapMaxMs, rssBeforeKiB, peakRiseKiB } = watch.stop();
const joiner = JSON.parse(out) as { ok: boolean; fetchMs: number; hwmMiB: number };
await frontend.close();
await engine.close();
rmSync(work, { recursive: true, force: true });

console.log(
  JSON.stringify({
    path,
    records: recordCount,
    fileBytes,
    serveMs: Math.round(serveMs),
    gapMaxMs: Math.round(gapMaxMs),
    rssBeforeMiB: Math.round(rssBeforeKiB / 1024),
    peakRssDeltaMiB: Math.round(peakRiseKiB / 1024),
    joinerOk: joiner.ok,
    joinerPeakRssMiB: Math.round(joiner.hwmMiB),
  }),
);
