// Micro-benchmark (not a test): the suite's ceiling (a bare node:https server, one write per
// response) against the same server writing each connection's responses once per event-loop turn
// (src/node/write-batch.ts, as a Coterie node does since the fifth session). Since then a node's
// reads can pass the suite's ceiling; this measures how far the ceiling itself moves with the same
// transport. Closed loop, 16 connections × 16 pipelined, the ceiling's request (a private write's
// bytes), the two servers alternated `rounds` times; throughput and the server's CPU per response.
// Usage: node bench/ceiling-batching.ts [rounds] [seconds] [port]
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { writeBenchCerts } from "./certs.ts";
import { parseProcStat } from "./cpu.ts";
import { WORKLOADS } from "./workloads.ts";

const rounds = Number(process.argv[2] ?? 3);
const seconds = Number(process.argv[3] ?? 5);
const port = Number(process.argv[4] ?? 9460);
if (!(rounds >= 1 && rounds <= 20 && seconds >= 1 && seconds <= 60)) throw new RangeError("rounds seconds");
const here = import.meta.dirname;
const dir = mkdtempSync(join(tmpdir(), "coterie-ceiling-batching-"));
const certs = await writeBenchCerts(dir);
// The suite's own ceiling request (a private write's bytes).
const ceiling = WORKLOADS.find((w) => w.name === "ceiling");
if (ceiling === undefined) throw new Error("no ceiling workload in bench/workloads.ts");
const config = {
  targets: [`https://127.0.0.1:${port}`],
  tls: { caFile: certs.caFile, certFile: certs.certFile, keyFile: certs.keyFile },
  connections: 16,
  pipelining: 16,
  mode: "closed",
  warmupMs: 1000,
  durationMs: seconds * 1000,
  drainMs: 1000,
  requestsMax: 100_000_000,
  templates: ceiling.templates,
  idStart: 0,
  randMax: 1,
};
const cpuTicks = (pid: number) => parseProcStat(readFileSync(`/proc/${pid}/stat`, "utf8")).cpuTicks;
const results: Record<string, number[][]> = { bare: [], batch: [] };
try {
  for (let round = 1; round <= rounds; round++) {
    for (const mode of ["bare", "batch"] as const) {
      const args = [
        join(here, "baseline-https.ts"),
        String(port),
        certs.caFile,
        certs.serverCertFile,
        certs.serverKeyFile,
      ];
      const server = spawn(process.execPath, mode === "batch" ? [...args, "batch"] : args, {
        stdio: ["ignore", "pipe", "inherit"],
      });
      await new Promise<void>((ready, fail) => {
        server.stdout?.on("data", (d: Buffer) => String(d).includes("listening") && ready());
        server.once("exit", (code) => fail(new Error(`server exited with ${code}`)));
      });
      const before = cpuTicks(server.pid as number);
      const load = spawnSync(process.execPath, [resolve(here, "load.ts"), JSON.stringify(config)], {
        encoding: "utf8",
      });
      const after = cpuTicks(server.pid as number);
      server.kill("SIGTERM");
      await new Promise((done) => server.once("exit", done));
      const report = JSON.parse(load.stdout.trim().split("\n").at(-1) as string);
      const responses = report.throughputPerSec * seconds;
      // Ticks are 10 ms; the warm-up and drain seconds count too, so this slightly overstates.
      const cpuUs = ((after - before) * 10_000) / (responses + report.throughputPerSec * 2);
      results[mode]?.push([report.throughputPerSec, cpuUs]);
      console.log(
        `round ${round} ${mode.padEnd(5)} ${Math.round(report.throughputPerSec)}/s  ~${cpuUs.toFixed(0)} µs CPU per response`,
      );
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const bare = median((results.bare ?? []).map((r) => r[0] as number));
const batch = median((results.batch ?? []).map((r) => r[0] as number));
console.log(
  `medians: bare ${Math.round(bare)}/s, batch ${Math.round(batch)}/s, batch ÷ bare ${(batch / bare).toFixed(2)}×`,
);
