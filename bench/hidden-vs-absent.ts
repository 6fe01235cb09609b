/**
 * Is there a timing oracle between a record you may not read and one that does not exist? Starts
 * a node with the supply-chain app, writes orders between supplier-a and retailer-x, and has
 * supplier-b read them (hidden) and read ids that do not exist (absent), interleaved, sequentially
 * over one keep-alive connection. Prints latency medians and p90s, and their differences.
 *
 *   node bench/hidden-vs-absent.ts [--samples 2000]
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { Agent, request } from "node:https";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { ensureIdentityFiles } from "../src/cli/identity-files.ts";

const root = resolve(import.meta.dirname, "..");
const { values } = parseArgs({ options: { samples: { type: "string" } } });
const samples = Number(values.samples ?? 2000);
const dir = mkdtempSync(join(tmpdir(), "coterie-bench-oracle-"));
const names = ["retailer-x", "supplier-b", "member0"];
for (const n of names) await ensureIdentityFiles(dir, n);
const users = [
  { cert: "retailer-x_cert.pem", data: { party: "retailer-x", role: "retailer" } },
  { cert: "supplier-b_cert.pem", data: { party: "supplier-b", role: "supplier" } },
];
const config = {
  dataDir: "node0",
  rpc: { host: "127.0.0.1", port: 0 },
  log: { level: "warn" },
  genesis: { members: [{ cert: "member0_cert.pem" }], users, open: true },
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
    "supply-chain",
  ],
  { stdio: ["ignore", "pipe", "ignore"] },
);
const url = await new Promise<string>((ok) => {
  let out = "";
  child.stdout?.on("data", (d: Buffer) => {
    out += d.toString();
    const m = /listening on (https:\/\/[\d.]+:\d+)/.exec(out);
    if (m) ok(m[1] as string);
  });
});
const ca = readFileSync(join(dir, "node0", "service_cert.pem"));
const agentOf = (n: string) =>
  new Agent({
    keepAlive: true,
    maxSockets: 1,
    ca,
    cert: readFileSync(join(dir, `${n}_cert.pem`)),
    key: readFileSync(join(dir, `${n}_privk.pem`)),
  });

function call(
  agent: Agent,
  method: string,
  path: string,
  body?: string,
): Promise<{ status: number; ms: number; text: string }> {
  const started = performance.now();
  return new Promise((ok, fail) => {
    const headers = body ? { "content-type": "application/json" } : {};
    const req = request(`${url}${path}`, { method, agent, headers }, (res) => {
      let text = "";
      res.on("data", (c: Buffer) => {
        text += c.toString();
      });
      res.on("end", () => ok({ status: res.statusCode ?? 0, ms: performance.now() - started, text }));
    });
    req.on("error", fail);
    req.end(body);
  });
}

const retailer = agentOf("retailer-x");
const probe = agentOf("supplier-b");
const orders = 200;
for (let i = 0; i < orders; i++) {
  await call(
    retailer,
    "POST",
    "/app/orders",
    JSON.stringify({ supplier: "supplier-a", ref: `p${i}`, items: [{ sku: "a", qty: 1 }], total: 1 }),
  );
}
const hidden: number[] = [];
const absent: number[] = [];
for (let i = 0; i < samples; i++) {
  const n = i % orders;
  const h = await call(probe, "GET", `/app/orders/supplier-a:retailer-x:p${n}`);
  const a = await call(probe, "GET", `/app/orders/supplier-a:retailer-x:q${n}`);
  if (h.status !== 404 || a.status !== 404) throw new Error(`expected 404s, got ${h.status} ${a.status}`);
  if (h.text.length !== a.text.length) throw new Error("bodies differ in length");
  hidden.push(h.ms);
  absent.push(a.ms);
}
const q = (xs: number[], p: number) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length * p)] as number;
const us = (ms: number) => `${(ms * 1000).toFixed(0)} µs`;
console.log(`${samples} interleaved pairs over one connection`);
console.log(`hidden: median ${us(q(hidden, 0.5))}, p90 ${us(q(hidden, 0.9))}`);
console.log(`absent: median ${us(q(absent, 0.5))}, p90 ${us(q(absent, 0.9))}`);
console.log(`difference of medians ${us(q(hidden, 0.5) - q(absent, 0.5))}`);
retailer.destroy();
probe.destroy();
child.kill("SIGTERM");
