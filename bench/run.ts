// The benchmark suite: `node bench/run.ts [--quick] [--repeat N] [--only TEXT] [--port-base P]
// [--records N]`.
// Starts each target on loopback in turn (only one runs at a time: the machine has 2 cores),
// measures its workloads with bench/load.ts, stops it, and writes bench/results/<timestamp>.json,
// .md and .svg. Refuses to start if a port it needs is taken; kills everything it started on exit,
// Ctrl-C or error, and checks that nothing is left.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import { join, resolve } from "node:path";
import { type CertFiles, writeBenchCerts } from "./certs.ts";
import { type FootprintPlan, FULL_FOOTPRINT, QUICK_FOOTPRINT, runFootprint } from "./footprint.ts";
import {
  bundleChecks,
  type CheckRow,
  type FootprintResult,
  growthCheck,
  memoryCheck,
} from "./footprint-calc.ts";
import { type Options, parseOptions } from "./options.ts";
import { ephemeralPorts, takenPorts } from "./ports.ts";
import { ProcessGroup } from "./procs.ts";
import { type ReportHeader, renderMarkdown } from "./report-markdown.ts";
import { renderSvg } from "./report-svg.ts";
import { FULL_TIMING, QUICK_TIMING, runTargetWorkloads, type SuiteContext } from "./suite.ts";
import { type PointRecord, summarise } from "./summary.ts";
import { ceilingTarget, coterieTarget, etcdTarget, floorTarget, type TargetSpec } from "./targets.ts";
import { LOW_LATENCY_CONFIG, plannedWorkloads, WORKLOADS, type Workload } from "./workloads.ts";

/** The targets in the order they run; a new node count is one more entry here (see workloads.ts). */
function targetSpecs(base: number): TargetSpec[] {
  return [
    ceilingTarget(base),
    etcdTarget([base + 10, base + 11, base + 12], [base + 20, base + 21, base + 22]),
    floorTarget(1, base + 90),
    floorTarget(3, base + 93),
    coterieTarget("coterie-1", base + 30),
    coterieTarget("coterie-3", base + 40, { nodes: 3 }),
    coterieTarget("coterie-5", base + 50, { nodes: 5 }),
    coterieTarget("coterie-3-p256", base + 80, { nodes: 3, config: LOW_LATENCY_CONFIG }),
    coterieTarget("coterie-1-bundle", base + 60, { governedApp: "apps/logging" }),
  ];
}

/** A fresh single node for the footprint measurements (run once, after the repeats). */
const FOOTPRINT_TARGET = "coterie-1-footprint";
const footprintSpec = (base: number) => coterieTarget(FOOTPRINT_TARGET, base + 70);

function machine(): string {
  const cpus = os.cpus();
  const memGiB = (os.totalmem() / 2 ** 30).toFixed(1);
  const load = os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(" ");
  return `${cpus.length} × ${cpus[0]?.model.trim() ?? "?"}, ${memGiB} GiB, Linux ${os.release()}, Node ${process.version}, load average at start ${load}`;
}

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2));
  const repoRoot = resolve(import.meta.dirname, "..");
  // --only takes comma-separated substrings of workload or target names.
  const only = options.only?.split(",").filter((t) => t.length > 0) ?? null;
  const selected = plannedWorkloads(WORKLOADS, options.quick, only);
  const specs = targetSpecs(options.portBase).filter((s) => selected.some((w) => w.target === s.name));
  const footprint =
    only === null || only.some((t) => FOOTPRINT_TARGET.includes(t)) ? footprintSpec(options.portBase) : null;
  const ports = [...specs, ...(footprint === null ? [] : [footprint])].flatMap((s) => s.ports);
  const ephemeral = ephemeralPorts(ports);
  if (ephemeral.length > 0) {
    process.stderr.write(
      `warning: port(s) ${ephemeral.join(", ")} are in the ephemeral range; a target may fail to bind\n`,
    );
  }
  const taken = await takenPorts(ports);
  if (taken.length > 0) {
    process.stderr.write(
      `refusing to run: port(s) ${taken.join(", ")} on 127.0.0.1 already in use ` +
        `(stop what holds them, or pick other ports with --port-base)\n`,
    );
    return 2;
  }
  const group = new ProcessGroup();
  const tmpDir = mkdtempSync(join(os.tmpdir(), "coterie-bench-"));
  installCleanup(group, tmpDir);
  const log = (line: string) => process.stdout.write(`${line}\n`);
  const startedAt = new Date().toISOString();
  const certs = await writeBenchCerts(tmpDir);
  const ctx: SuiteContext = { group, repoRoot, timing: options.quick ? QUICK_TIMING : FULL_TIMING, log };
  if (options.pacingGapUs !== null) ctx.pacingGapUs = options.pacingGapUs;
  const targetNotes: Record<string, string> = {};
  const points: PointRecord[] = [];
  // Repeats restart every target and interleave them in time, so a noisy minute on the machine
  // spreads over all targets instead of skewing one of them (and each repeat starts from empty state).
  for (let repeat = 0; repeat < options.repeats; repeat++) {
    for (const spec of specs) {
      const workloads = selected.filter((w) => w.target === spec.name);
      points.push(...(await runTarget(ctx, spec, workloads, repeat, { tmpDir, certs }, targetNotes)));
    }
  }
  const plan = footprintPlan(options);
  const footprintResult =
    footprint === null
      ? null
      : await runFootprintTarget(ctx, footprint, plan, { tmpDir, certs }, targetNotes);
  const leftover = await group.stopAll();
  if (leftover.length > 0 || group.running > 0) log(`warning: processes left behind: ${leftover.join("; ")}`);
  else log("all started processes stopped (process groups verified empty)");
  const header: ReportHeader = {
    startedAt,
    machine: machine(),
    mode: options.quick ? "quick" : "full",
    repeats: options.repeats,
    targets: targetNotes,
  };
  writeResults(repoRoot, header, points, options, ctx, footprintResult);
  return 0;
}

/** The footprint plan of this run: --records overrides the record count (chunks at most 100,000). */
function footprintPlan(options: Options): FootprintPlan {
  const base = options.quick ? QUICK_FOOTPRINT : FULL_FOOTPRINT;
  if (options.records === null) return base;
  return {
    ...base,
    records: options.records,
    chunkRecords: Math.min(options.records, FULL_FOOTPRINT.chunkRecords),
  };
}

/** Starts a fresh single node, measures its footprint once, stops it and removes its data. */
async function runFootprintTarget(
  ctx: SuiteContext,
  spec: TargetSpec,
  plan: FootprintPlan,
  shared: { tmpDir: string; certs: CertFiles },
  notes: Record<string, string>,
): Promise<FootprintResult | null> {
  ctx.log(`${spec.name}: starting (${plan.records} records planned)`);
  const runDir = join(shared.tmpDir, spec.name);
  mkdirSync(runDir);
  const target = await spec
    .start({ group: ctx.group, repoRoot: ctx.repoRoot, tmpDir: runDir, certs: shared.certs })
    .catch((err: Error) => err);
  let result: FootprintResult | null = null;
  if (target instanceof Error) {
    notes[spec.name] = `not available (${target.message})`;
  } else {
    notes[spec.name] =
      `${target.note}; ledger growth, then memory with ${plan.records.toLocaleString("en-US")} small records planned`;
    result = await runFootprint(ctx, target, plan).catch((err: Error) => {
      notes[spec.name] += `; aborted: ${err.message}`;
      return null;
    });
  }
  const problems = await ctx.group.stopAll();
  if (problems.length > 0) ctx.log(`warning: ${problems.join("; ")}`);
  rmSync(runDir, { recursive: true, force: true });
  return result;
}

/** Starts one target in a fresh directory, runs its workloads once, stops it and removes its data. */
async function runTarget(
  ctx: SuiteContext,
  spec: TargetSpec,
  workloads: readonly Workload[],
  repeat: number,
  shared: { tmpDir: string; certs: CertFiles },
  notes: Record<string, string>,
): Promise<PointRecord[]> {
  const label = `${spec.name} (repeat ${repeat + 1})`;
  ctx.log(`${label}: starting`);
  const runDir = join(shared.tmpDir, `${spec.name}-${repeat}`);
  mkdirSync(runDir);
  const start = { group: ctx.group, repoRoot: ctx.repoRoot, tmpDir: runDir, certs: shared.certs };
  const target = await spec.start(start).catch((err: Error) => err);
  let points: PointRecord[] = [];
  if (target instanceof Error) {
    notes[spec.name] = `not available (${target.message})`;
    ctx.log(`${label}: not available (${target.message})`);
  } else {
    notes[spec.name] ??= target.note;
    points = await runTargetWorkloads(ctx, target, workloads, repeat).catch((err: Error) => {
      notes[spec.name] += `; repeat ${repeat + 1} aborted: ${err.message}`;
      ctx.log(`${label}: aborted: ${err.message}`);
      return [];
    });
  }
  const problems = await ctx.group.stopAll();
  if (problems.length > 0) ctx.log(`warning: ${problems.join("; ")}`);
  rmSync(runDir, { recursive: true, force: true });
  return points;
}

function writeResults(
  repoRoot: string,
  header: ReportHeader,
  points: PointRecord[],
  options: Options,
  ctx: SuiteContext,
  footprint: FootprintResult | null,
) {
  const rows = summarise(points, WORKLOADS);
  const checks: CheckRow[] = [...bundleChecks(rows)];
  if (footprint !== null) checks.push(memoryCheck(footprint), growthCheck(footprint));
  const markdown = renderMarkdown(header, rows, checks);
  const dir = join(repoRoot, "bench/results");
  mkdirSync(dir, { recursive: true });
  const stem = join(dir, header.startedAt.replaceAll(":", "-").replace(/\.\d+Z$/, "Z"));
  writeFileSync(
    `${stem}.json`,
    `${JSON.stringify({ header, options, timing: ctx.timing, summary: rows, checks, footprint, points }, null, 1)}\n`,
  );
  writeFileSync(`${stem}.md`, markdown);
  writeFileSync(
    `${stem}.svg`,
    renderSvg(`Latency vs throughput — ${header.startedAt} (${header.mode})`, rows),
  );
  process.stdout.write(`\n${markdown}\nwrote ${stem}.json, .md and .svg\n`);
}

/** Kills every started process on any way out; removes the temporary directory. */
function installCleanup(group: ProcessGroup, tmpDir: string): void {
  let cleaning = false;
  const cleanupThenExit = async (code: number, why: string) => {
    if (cleaning) return;
    cleaning = true;
    process.stderr.write(`\n${why}: stopping ${group.running} process group(s)\n`);
    const problems = await group.stopAll(true);
    if (problems.length > 0) process.stderr.write(`cleanup problems: ${problems.join("; ")}\n`);
    process.exit(code);
  };
  process.on("SIGINT", () => void cleanupThenExit(130, "interrupted"));
  process.on("SIGTERM", () => void cleanupThenExit(143, "terminated"));
  process.on("uncaughtException", (err) => void cleanupThenExit(1, `error: ${err.stack ?? err.message}`));
  process.on("unhandledRejection", (err) => void cleanupThenExit(1, `error: ${String(err)}`));
  process.on("exit", () => {
    group.killAllSync();
    rmSync(tmpDir, { recursive: true, force: true });
  });
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`bench: ${err.stack ?? err.message}\n`);
    process.exit(1);
  },
);
