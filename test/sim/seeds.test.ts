/**
 * Random seeds of the deterministic simulation, in parallel on two worker threads. By default
 * min(2000 seeds, 60 s); COTERIE_SIM_SEEDS=N runs exactly N seeds without the time bound, and
 * COTERIE_SIM_SEED_FROM picks the first seed (default 1). A failing seed prints its replay command.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Worker } from "node:worker_threads";
import type { SeedWorkerInput, SeedWorkerOutput } from "./seed-worker.ts";

const explicit = process.env.COTERIE_SIM_SEEDS;
const seedCount = explicit !== undefined ? Number(explicit) : 2000;
const timeBudgetMs = explicit !== undefined ? Number.POSITIVE_INFINITY : 60_000;
const firstSeed = Number(process.env.COTERIE_SIM_SEED_FROM ?? 1);
const workerCount = 2;

function runWorker(input: SeedWorkerInput): Promise<SeedWorkerOutput> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL("./seed-worker.ts", import.meta.url), { workerData: input });
    worker.once("message", resolve);
    worker.once("error", reject);
  });
}

test(`simulation: ${explicit ?? "min(2000, 60 s of)"} random seeds from ${firstSeed} keep every invariant`, async (t) => {
  assert.ok(Number.isSafeInteger(seedCount) && seedCount > 0, "COTERIE_SIM_SEEDS must be a positive integer");
  const started = Date.now();
  const deadlineMs = started + timeBudgetMs;
  const inputs = Array.from({ length: workerCount }, (_, k) => ({
    from: firstSeed + k,
    stride: workerCount,
    count: Math.ceil((seedCount - k) / workerCount),
    deadlineMs,
  }));
  const outputs = await Promise.all(inputs.map(runWorker));
  const ran = outputs.reduce((sum, o) => sum + o.ran, 0);
  const commits = outputs.reduce((sum, o) => sum + o.commits, 0);
  const elections = outputs.reduce((sum, o) => sum + o.elections, 0);
  t.diagnostic(
    `${ran} seeds in ${Date.now() - started} ms (mean ${(commits / ran).toFixed(0)} commits, ${(elections / ran).toFixed(1)} elections per seed)`,
  );
  const failures = outputs.flatMap((o) => o.failures).sort((a, b) => a.seed - b.seed);
  const report = failures.map(
    (f) => `seed ${f.seed}: ${f.outcome}: ${f.message}\n  replay: node test/sim/run.ts --seed ${f.seed}`,
  );
  assert.equal(failures.length, 0, `failing seeds:\n${report.join("\n")}`);
  assert.ok(
    ran >= Math.min(seedCount, 100),
    `only ${ran} seeds ran; the machine is too slow to mean anything`,
  );
});
