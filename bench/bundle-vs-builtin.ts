/**
 * Write rate of one endpoint built into the node versus the same source as a governed bundle in
 * the sandbox, in one run: the supply-chain app's `POST /app/orders` (a confidential-table write
 * behind a schema check), a closed loop of `--concurrency` keep-alive mTLS clients for
 * `--seconds` per round, rounds alternating built-in / bundle (`--rounds` each), one node process
 * at a time so both get the same cores. Prints each round and the median ratio bundle / built-in.
 * The bundle is served with `start --app FILE` (the development path, no governance); the suite
 * (bench/run.ts, target coterie-1-bundle) measures the logging app deployed through governance.
 *
 *   node bench/bundle-vs-builtin.ts [--seconds 5] [--concurrency 32] [--rounds 3]
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { Agent, request } from "node:https";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { buildAppBundle } from "../src/cli/app.ts";
import { ensureIdentityFiles } from "../src/cli/identity-files.ts";

const root = resolve(import.meta.dirname, "..");
const { values } = parseArgs({
  options: { seconds: { type: "string" }, concurrency: { type: "string" }, rounds: { type: "string" } },
});
const seconds = Number(values.seconds ?? 5);
const concurrency = Number(values.concurrency ?? 32);
const rounds = Number(values.rounds ?? 3);

async function startNode(app: string): Promise<{ child: ChildProcess; url: string; agent: Agent }> {
  const dir = mkdtempSync(join(tmpdir(), "coterie-bench-app-"));
  const user = await ensureIdentityFiles(dir, "retailer");
  await ensureIdentityFiles(dir, "member0");
  const config = {
    dataDir: "node0",
    rpc: { host: "127.0.0.1", port: 0 },
    log: { level: "warn" },
    genesis: {
      members: [{ cert: "member0_cert.pem" }],
      users: [{ cert: "retailer_cert.pem", data: { party: "retailer-x", role: "retailer" } }],
      open: true,
    },
  };
  writeFileSync(join(dir, "node.json"), JSON.stringify(config));
  const child = spawn(
    process.execPath,
    [
      "--no-node-snapshot",
      join(root, "src/cli/main.ts"),
      "start",
      "--config",
      join(dir, "node.json"),
      "--app",
      app,
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  const url = await new Promise<string>((ok, fail) => {
    let out = "";
    child.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /listening on (https:\/\/[\d.]+:\d+)/.exec(out);
      if (m) ok(m[1] as string);
    });
    child.once("exit", (code) => fail(new Error(`node exited ${code}`)));
  });
  const agent = new Agent({
    keepAlive: true,
    maxSockets: concurrency,
    ca: readFileSync(join(dir, "node0", "service_cert.pem")),
    cert: readFileSync(user.certPath),
    key: readFileSync(user.keyPath),
  });
  return { child, url, agent };
}

function post(url: string, agent: Agent, body: string): Promise<number> {
  return new Promise((ok, fail) => {
    const req = request(
      `${url}/app/orders`,
      {
        method: "POST",
        agent,
        headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
      },
      (res) => {
        res.resume();
        res.on("end", () => ok(res.statusCode ?? 0));
      },
    );
    req.on("error", fail);
    req.end(body);
  });
}

async function round(app: string, label: string): Promise<number> {
  const node = await startNode(app);
  let next = 0;
  let done = 0;
  let failed = 0;
  const until = performance.now() + seconds * 1000;
  const worker = async () => {
    while (performance.now() < until) {
      const body = JSON.stringify({
        supplier: "supplier-a",
        ref: `r${next++}`,
        items: [{ sku: "bolt", qty: 1 }],
        total: 1,
      });
      if ((await post(node.url, node.agent, body)) === 200) done++;
      else failed++;
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const rate = done / ((performance.now() - started) / 1000);
  node.agent.destroy();
  node.child.kill("SIGTERM");
  await new Promise((r) => node.child.once("exit", r));
  console.log(`${label.padEnd(9)} ${rate.toFixed(0).padStart(7)} writes/s  (${done} ok, ${failed} failed)`);
  if (failed > 0) throw new Error(`${failed} writes failed`);
  return rate;
}

const bundleDir = mkdtempSync(join(tmpdir(), "coterie-bench-bundle-"));
const bundlePath = join(bundleDir, "supply-chain.bundle.js");
writeFileSync(bundlePath, await buildAppBundle(join(root, "apps/supply-chain")));
console.log(`POST /app/orders, ${concurrency} clients, ${seconds} s per round, ${rounds} rounds each`);
const builtin: number[] = [];
const bundle: number[] = [];
for (let i = 0; i < rounds; i++) {
  builtin.push(await round("supply-chain", "built-in"));
  bundle.push(await round(bundlePath, "bundle"));
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
console.log(
  `median built-in ${median(builtin).toFixed(0)} writes/s, bundle ${median(bundle).toFixed(0)} writes/s, ratio bundle/built-in ${(median(bundle) / median(builtin)).toFixed(2)}`,
);
