// Runs the workloads of one started target: preload if needed, closed loop to saturation, then
// open loop at fractions of that saturation. Every measurement is one `bench/load.ts` process
// started through the process group, so an interrupted run leaves no generator behind either.
import { join } from "node:path";
import { groupCpuMs, machineTicks, stealPercent } from "./cpu.ts";
import type { LoadConfig, LoadResult } from "./load-config.ts";
import { findPrimary, waitForNodesCaughtUp } from "./node-api.ts";
import type { ProcessGroup } from "./procs.ts";
import type { PointRecord } from "./summary.ts";
import type { Target } from "./targets.ts";
import { OPEN_LOOP_FRACTIONS, type Workload, WRITE_ID_START } from "./workloads.ts";

/**
 * `warmupMs`, `durationMs`, `drainMs`: of every point. `targetWarmupMs`: once per started target,
 * before its first point, a closed loop of its first workload that is not recorded. A freshly
 * started Node.js process spends its first seconds under load compiling its hot code on V8's helper
 * threads (about 2 s of CPU in the first 5 s on one node, docs/performance.md), which the first
 * point's own 2 s warm-up does not cover; every target gets the same warm-up, etcd's included.
 */
export type Timing = { warmupMs: number; durationMs: number; drainMs: number; targetWarmupMs: number };

export const QUICK_TIMING: Timing = { warmupMs: 500, durationMs: 2000, drainMs: 1000, targetWarmupMs: 1000 };
export const FULL_TIMING: Timing = {
  warmupMs: 2000,
  durationMs: 10_000,
  drainMs: 3000,
  targetWarmupMs: 5000,
};
/** Ids of successive measurement points never overlap: each point writes fewer than this many. */
const IDS_PER_POINT = 10_000_000;
const PRELOAD_DURATION_MS_MAX = 120_000;
/** Extra time a generator gets beyond its configured run before it is killed. */
const GENERATOR_SLACK_MS = 30_000;

export type SuiteContext = {
  group: ProcessGroup;
  repoRoot: string;
  timing: Timing;
  log: (line: string) => void;
  /** Open-loop points: the pacer's least gap in µs; absent: the generator's default. */
  pacingGapUs?: number;
};

/** Runs one generator process and returns its result (a failed result if it misbehaved). */
export async function runGenerator(ctx: SuiteContext, config: LoadConfig): Promise<LoadResult> {
  const child = ctx.group.spawn("load", process.execPath, [
    join(ctx.repoRoot, "bench/load.ts"),
    JSON.stringify(config),
  ]);
  let stdout = "";
  child.process.stdout?.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
  const limitMs = config.warmupMs + config.durationMs + config.drainMs + GENERATOR_SLACK_MS;
  const timer = setTimeout(() => void ctx.group.stop(child).catch(() => undefined), limitMs);
  const code = await child.exited;
  clearTimeout(timer);
  const line = stdout.trim().split("\n").pop() ?? "";
  try {
    const result = JSON.parse(line) as LoadResult;
    if (result.latencyUs !== undefined) return result;
    return failedResult(config, result.failure ?? `generator exited ${code}`);
  } catch {
    return failedResult(
      config,
      `generator exited ${code} without a result: ${child.tail.slice(-2).join(" | ")}`,
    );
  }
}

function failedResult(config: LoadConfig, failure: string): LoadResult {
  return {
    ok: false,
    failure,
    mode: config.mode,
    ratePerSec: config.ratePerSec ?? null,
    connections: config.connections,
    pipelining: config.pipelining,
    measuredMs: 0,
    sent: 0,
    completedOk: 0,
    throughputPerSec: 0,
    errors: {},
    latencyUs: { p50: 0, p90: 0, p99: 0, p999: 0, max: 0, mean: 0 },
    histogram: { counts: [], total: 0, minValue: 0, maxValue: 0, sum: 0 },
  };
}

/** One generator run's timing. */
type RunTiming = Pick<Timing, "warmupMs" | "durationMs" | "drainMs">;

function baseConfig(target: Target, w: Workload, timing: RunTiming, idStart: number): LoadConfig {
  const config: LoadConfig = {
    targets: target.urls,
    connections: w.connections,
    pipelining: w.pipelining,
    mode: "closed",
    warmupMs: timing.warmupMs,
    durationMs: timing.durationMs,
    drainMs: timing.drainMs,
    requestsMax: 100_000_000,
    templates: w.templates,
    idStart,
    randMax: w.preload?.count ?? 1,
  };
  if (target.tls !== undefined) config.tls = target.tls;
  return config;
}

/** Writes ids 0..count-1 and waits for every answer; throws if any write failed. */
async function preload(ctx: SuiteContext, target: Target, w: Workload): Promise<void> {
  if (w.preload === undefined) return;
  const config: LoadConfig = {
    ...baseConfig(target, w, { warmupMs: 0, durationMs: PRELOAD_DURATION_MS_MAX, drainMs: 10_000 }, 0),
    templates: w.preload.templates,
    requestsMax: w.preload.count,
  };
  const result = await runGenerator(ctx, config);
  const failed = Object.values(result.errors).reduce((s, v) => s + v, 0);
  if (!result.ok || result.completedOk !== w.preload.count || failed > 0) {
    throw new Error(
      `preload of ${w.preload.count} records failed: ${result.failure ?? JSON.stringify(result.errors)}`,
    );
  }
}

function describe(r: LoadResult): string {
  if (!r.ok) return `FAILED: ${r.failure}`;
  const errors = Object.entries(r.errors).map(([k, v]) => `${k}×${v}`);
  const ms = (us: number) => (us / 1000).toFixed(2);
  const lag = r.dispatchLagUs === undefined ? "" : ` (sent late by p50 ${ms(r.dispatchLagUs.p50)} ms)`;
  return `${Math.round(r.throughputPerSec)}/s p50 ${ms(r.latencyUs.p50)} ms p99 ${ms(r.latencyUs.p99)} ms${lag}${errors.length > 0 ? ` errors ${errors.join(",")}` : ""}`;
}

/**
 * Runs one generator and measures the CPU the target's processes used meanwhile, per request sent
 * (warm-up included on both sides of the division; nearly every request sent is answered), and the
 * machine's steal time over the same window.
 */
async function runMeasuringCpu(ctx: SuiteContext, target: Target, config: LoadConfig) {
  const groups = target.children.map((c) => c.process.pid).filter((p): p is number => p !== undefined);
  const before = groupCpuMs(groups);
  const machineBefore = machineTicks();
  const result = await runGenerator(ctx, config);
  const after = groupCpuMs(groups);
  const stealPct = stealPercent(machineBefore, machineTicks());
  const usable = before !== null && after !== null && result.ok && result.sent > 0;
  return {
    result,
    serverCpuUsPerResponse: usable ? ((after - before) * 1000) / result.sent : null,
    stealPct,
  };
}

/**
 * Multi-node targets: points the generator at the current primary (backups answer writes with 307,
 * which the generator does not follow). A change of primary during a point still shows as 307s.
 */
async function followPrimary(ctx: SuiteContext, target: Target): Promise<void> {
  if (target.nodeUrls === undefined || target.tls === undefined) return;
  const primary = await findPrimary(target.tls, target.nodeUrls);
  if (primary === null || primary === target.urls[0]) return;
  ctx.log(`  ${target.name}: the primary is now ${primary}; the generator follows it`);
  target.urls = [primary];
}

/** How long a point waits, at most, for every node to catch up before it starts. */
const CATCH_UP_MS_MAX = 30_000;

/**
 * Multi-node targets: waits until every node has applied what the points before sent, so a point
 * measures its own load and not backups still catching up. Returns the milliseconds waited, or
 * null (logged) if the nodes did not catch up within `CATCH_UP_MS_MAX`; the point then runs anyway.
 */
async function catchUp(ctx: SuiteContext, target: Target): Promise<number | null> {
  if (target.nodeUrls === undefined || target.tls === undefined) return null;
  try {
    const waited = await waitForNodesCaughtUp(target.tls, target.nodeUrls, CATCH_UP_MS_MAX);
    if (waited >= 1000)
      ctx.log(`  ${target.name}: waited ${(waited / 1000).toFixed(1)} s for every node to catch up`);
    return waited;
  } catch (err) {
    ctx.log(`  ${target.name}: ${(err as Error).message}; the point runs anyway`);
    return null;
  }
}

/**
 * The target's warm-up (`Timing.targetWarmupMs`): its first workload that needs no preload, closed
 * loop, results discarded. A failure here is not an error: the first point would show it.
 */
async function warmUp(ctx: SuiteContext, target: Target, workloads: readonly Workload[], idStart: number) {
  const w = workloads.find((x) => x.preload === undefined);
  if (w === undefined || ctx.timing.targetWarmupMs === 0) return;
  await followPrimary(ctx, target);
  const timing = { warmupMs: 0, durationMs: ctx.timing.targetWarmupMs, drainMs: ctx.timing.drainMs };
  const result = await runGenerator(ctx, baseConfig(target, w, timing, idStart));
  ctx.log(`  warm-up (${w.name}, ${ctx.timing.targetWarmupMs} ms, not recorded): ${describe(result)}`);
}

/** All points of the given workloads on one started target, once; returns the raw records. */
export async function runTargetWorkloads(
  ctx: SuiteContext,
  target: Target,
  workloads: readonly Workload[],
  repeat: number,
): Promise<PointRecord[]> {
  const records: PointRecord[] = [];
  const preloaded = new Set<string>();
  let pointIndex = 0;
  const idStart = () => WRITE_ID_START + pointIndex++ * IDS_PER_POINT;
  await warmUp(ctx, target, workloads, idStart());
  for (const w of workloads) {
    await followPrimary(ctx, target);
    const key = JSON.stringify(w.preload);
    if (w.preload !== undefined && !preloaded.has(key)) {
      ctx.log(`  ${w.name}: preloading ${w.preload.count} records`);
      await preload(ctx, target, w);
      preloaded.add(key);
    }
    const measure = async (point: string, config: LoadConfig): Promise<LoadResult> => {
      await followPrimary(ctx, target);
      config.targets = target.urls;
      const catchUpMs = await catchUp(ctx, target);
      const { result, serverCpuUsPerResponse, stealPct } = await runMeasuringCpu(ctx, target, config);
      records.push({
        workload: w.name,
        target: target.name,
        point,
        repeat,
        result,
        serverCpuUsPerResponse,
        stealPct,
        ...(target.nodeUrls === undefined ? {} : { catchUpMs }),
      });
      const cpu = serverCpuUsPerResponse === null ? "" : ` cpu ${Math.round(serverCpuUsPerResponse)} µs/resp`;
      ctx.log(`  ${w.name.padEnd(36)} ${point.padEnd(9)} ${describe(result)}${cpu}`);
      return result;
    };
    const closed = await measure("closed", baseConfig(target, w, ctx.timing, idStart()));
    if (!w.openLoop || !closed.ok || !(closed.throughputPerSec > 0)) continue;
    for (const fraction of OPEN_LOOP_FRACTIONS) {
      const ratePerSec = Math.max(1, Math.round(closed.throughputPerSec * fraction));
      const open: LoadConfig = { ...baseConfig(target, w, ctx.timing, idStart()), mode: "open", ratePerSec };
      if (ctx.pacingGapUs !== undefined) open.pacingGapUs = ctx.pacingGapUs;
      await measure(`open ${Math.round(fraction * 100)}%`, open);
    }
  }
  return records;
}
