// Footprint of a fresh single node, measured through its HTTP API and /proc only: ledger bytes per
// committed write at two payload sizes (the `coterie_ledger_bytes` gauge of /node/metrics), then
// resident memory while the node fills up to the planned number of small private records, written
// pipelined by the load generator. Nothing is extrapolated: a run that writes fewer records than
// the target says so, and a fill that runs out of time reports what it reached and how long it took.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseProcStat } from "./cpu.ts";
import {
  type FootprintResult,
  fitGrowth,
  GIB,
  type GrowthSample,
  meanBodyBytes,
  parseGauges,
  parseProcStatus,
} from "./footprint-calc.ts";
import type { LoadConfig } from "./load-config.ts";
import { getText } from "./node-api.ts";
import { sleep } from "./procs.ts";
import { runGenerator, type SuiteContext } from "./suite.ts";
import type { Target } from "./targets.ts";
import { LOG_BODY } from "./workloads.ts";

export type FootprintPlan = {
  /** Distinct small records the node should hold at the end (ids 0..records-1). */
  records: number;
  /** Records per generator run; resident memory is sampled after each. */
  chunkRecords: number;
  /** Writes per payload size for the ledger-growth fit. */
  growthWrites: number;
  /** The fill stops (and says so) once it has run this long. */
  fillMsMax: number;
};

export const QUICK_FOOTPRINT: FootprintPlan = {
  records: 20_000,
  chunkRecords: 20_000,
  growthWrites: 2_000,
  fillMsMax: 60_000,
};
export const FULL_FOOTPRINT: FootprintPlan = {
  records: 1_000_000,
  chunkRecords: 100_000,
  growthWrites: 20_000,
  fillMsMax: 45 * 60_000,
};

/** A ~1 KiB message for the larger of the two growth payloads (the small one is LOG_BODY). */
const LARGE_BODY = `{"id":{id},"msg":"${"x".repeat(1000)}"}`;
const SETTLE_MS_MAX = 15_000;
/**
 * The fill stops once the node is this large: the target (1 GiB) is then long missed, and the
 * machine (23.5 GiB) is shared with other work.
 */
const RSS_STOP_BYTES = 4 * GIB;
const GENERATOR_MS_MAX = 10 * 60_000;
/** A restarted node must listen within this (a million records replay in about 10 s here). */
const RESTART_MS_MAX = 5 * 60_000;

async function metrics(target: Target): Promise<Map<string, number>> {
  if (target.tls === undefined) throw new Error("footprint needs an https target");
  return parseGauges(await getText(target.tls, `${target.urls[0]}/node/metrics`));
}

/** Ledger bytes and last seqno once everything written is committed and the ledger stops growing. */
async function settled(target: Target): Promise<{ ledgerBytes: number; lastSeqno: number }> {
  const deadline = Date.now() + SETTLE_MS_MAX;
  let previous = -1;
  for (;;) {
    const m = await metrics(target);
    const ledgerBytes = m.get("coterie_ledger_bytes");
    const lastSeqno = m.get("coterie_last_seqno");
    const commitSeqno = m.get("coterie_commit_seqno");
    if (ledgerBytes === undefined || lastSeqno === undefined || commitSeqno === undefined)
      throw new Error("/node/metrics lacks coterie_ledger_bytes, coterie_last_seqno or coterie_commit_seqno");
    if (commitSeqno === lastSeqno && ledgerBytes === previous) return { ledgerBytes, lastSeqno };
    if (Date.now() > deadline) throw new Error(`ledger did not settle within ${SETTLE_MS_MAX} ms`);
    previous = commitSeqno === lastSeqno ? ledgerBytes : -1;
    await sleep(250);
  }
}

function writeConfig(
  target: Target,
  body: string,
  idStart: number,
  count: number,
  durationMs: number,
): LoadConfig {
  const config: LoadConfig = {
    targets: target.urls,
    connections: 16,
    pipelining: 16,
    mode: "closed",
    warmupMs: 0,
    durationMs,
    drainMs: 10_000,
    requestsMax: count,
    templates: [
      {
        name: "write",
        weight: 1,
        method: "POST",
        path: "/app/log/private",
        body,
        headers: { "content-type": "application/json" },
      },
    ],
    idStart,
    randMax: 1,
  };
  if (target.tls !== undefined) config.tls = target.tls;
  return config;
}

/** Writes `count` records with ids idStart.. and returns how many were answered 2xx. */
async function write(
  ctx: SuiteContext,
  target: Target,
  body: string,
  idStart: number,
  count: number,
  durationMs: number,
) {
  const result = await runGenerator(ctx, writeConfig(target, body, idStart, count, durationMs));
  const failed = Object.entries(result.errors).map(([k, v]) => `${k}×${v}`);
  const problem = !result.ok
    ? (result.failure ?? "generator failed")
    : failed.length > 0
      ? `errors ${failed.join(",")}`
      : null;
  return { ok: result.completedOk, problem };
}

function nodeMemory(pid: number | undefined): { rssBytes: number; peakRssBytes: number } | null {
  if (pid === undefined) return null;
  try {
    return parseProcStatus(readFileSync(`/proc/${pid}/status`, "utf8"));
  } catch {
    return null;
  }
}

/** Sum of VmRSS over every live process of a process group (null off Linux). */
function groupRssBytes(processGroup: number | undefined): number | null {
  if (processGroup === undefined) return null;
  let total = 0;
  let names: string[];
  try {
    names = readdirSync("/proc").filter((n) => /^\d+$/.test(n));
  } catch {
    return null;
  }
  for (const name of names) {
    try {
      if (parseProcStat(readFileSync(`/proc/${name}/stat`, "utf8")).processGroup !== processGroup) continue;
      total += parseProcStatus(readFileSync(`/proc/${name}/status`, "utf8")).rssBytes;
    } catch {
      // Exited while we looked, or a kernel thread without VmRSS.
    }
  }
  return total;
}

/** Ledger growth at two payload sizes over the same ids (overwrites: the store keeps one value each). */
async function measureGrowth(ctx: SuiteContext, target: Target, plan: FootprintPlan, problems: string[]) {
  const samples: GrowthSample[] = [];
  for (const body of [LOG_BODY, LARGE_BODY]) {
    const before = await settled(target);
    const w = await write(ctx, target, body, 0, plan.growthWrites, GENERATOR_MS_MAX);
    const after = await settled(target);
    if (w.problem !== null) problems.push(`growth: ${w.problem}`);
    ctx.log(
      `  ledger growth: ${w.ok} writes of ${meanBodyBytes(body, 0, plan.growthWrites).toFixed(0)} B bodies added ${after.ledgerBytes - before.ledgerBytes} ledger bytes, ${after.lastSeqno - before.lastSeqno} seqnos`,
    );
    if (w.ok !== plan.growthWrites) return null;
    samples.push({
      payloadBytes: meanBodyBytes(body, 0, plan.growthWrites),
      writes: w.ok,
      ledgerBytes: after.ledgerBytes - before.ledgerBytes,
      seqnos: after.lastSeqno - before.lastSeqno,
    });
  }
  return fitGrowth(samples[0] as GrowthSample, samples[1] as GrowthSample);
}

/** Both measurements on one freshly started single-node target. */
export async function runFootprint(
  ctx: SuiteContext,
  target: Target,
  plan: FootprintPlan,
): Promise<FootprintResult> {
  const problems: string[] = [];
  const pid = target.children[0]?.process.pid;
  const growth = await measureGrowth(ctx, target, plan, problems).catch((err: Error) => {
    problems.push(`growth: ${err.message}`);
    return null;
  });
  const series: FootprintResult["series"] = [];
  let last = nodeMemory(pid);
  const started = performance.now();
  let written = 0;
  while (written < plan.records) {
    const elapsed = performance.now() - started;
    if (elapsed >= plan.fillMsMax) {
      problems.push(
        `fill stopped after ${(elapsed / 1000).toFixed(0)} s at ${written} records (budget ${plan.fillMsMax / 1000} s)`,
      );
      break;
    }
    const count = Math.min(plan.chunkRecords, plan.records - written);
    const durationMs = Math.round(Math.min(GENERATOR_MS_MAX, Math.max(1000, plan.fillMsMax - elapsed)));
    const w = await write(ctx, target, LOG_BODY, written, count, durationMs);
    written += w.ok;
    const mem = nodeMemory(pid);
    if (mem !== null) last = mem;
    series.push({
      records: written,
      rssBytes: mem?.rssBytes ?? null,
      elapsedMs: performance.now() - started,
    });
    ctx.log(
      `  memory fill: ${written} records in ${((performance.now() - started) / 1000).toFixed(1)} s, node RSS ${mem === null ? "?" : `${(mem.rssBytes / 2 ** 20).toFixed(0)} MiB`}`,
    );
    if (written < plan.records && mem !== null && mem.rssBytes > RSS_STOP_BYTES) {
      problems.push(
        `fill stopped at ${written} records: node resident memory over ${RSS_STOP_BYTES / GIB} GiB`,
      );
      break;
    }
    if (w.problem !== null || w.ok < count) {
      problems.push(`fill: ${w.problem ?? `${count - w.ok} writes unanswered`}`);
      break;
    }
  }
  const fillMs = performance.now() - started;
  await settled(target).catch((err: Error) => problems.push(`after fill: ${err.message}`));
  // If the node died (e.g. out of heap), its last sample is the figure, and the problems say why.
  const mem = nodeMemory(pid) ?? last;
  const group = groupRssBytes(pid);
  const restart = await measureRestart(ctx, target).catch((err: Error) => {
    problems.push(`restart: ${err.message}`);
    return null;
  });
  for (const p of problems) ctx.log(`  footprint problem: ${p}`);
  return {
    recordsPlanned: plan.records,
    recordsWritten: written,
    fillMs,
    rssBytes: mem?.rssBytes ?? null,
    peakRssBytes: mem?.peakRssBytes ?? null,
    groupRssBytes: group,
    series,
    restart,
    growth,
    problems,
  };
}

/**
 * Stops the filled node and starts it again from its data directory (`coterie start` on the
 * sandbox's own node config): it loads its latest snapshot and replays its ledger, which is when a
 * node holding many records needs the most memory. Reads the new process's peak once it has
 * listened and caught up.
 */
async function measureRestart(ctx: SuiteContext, target: Target): Promise<FootprintResult["restart"]> {
  const child = target.children[0];
  const config = target.workspace === undefined ? "" : join(target.workspace, "node0.config.json");
  if (child === undefined || !existsSync(config))
    throw new Error("no node0.config.json in the sandbox workspace");
  await ctx.group.stop(child);
  const started = performance.now();
  const again = ctx.group.spawn(`${target.name}-restarted`, process.execPath, [
    join(ctx.repoRoot, "src/cli/main.ts"),
    "start",
    "--config",
    config,
  ]);
  target.children[0] = again;
  await ctx.group.waitForLine(again, /coterie: listening on /, RESTART_MS_MAX).catch((err: Error) => {
    throw new Error(`${err.message}; last output: ${again.tail.slice(-5).join(" | ")}`);
  });
  const startMs = performance.now() - started;
  await settled(target);
  const mem = nodeMemory(again.process.pid);
  if (mem === null) throw new Error("the restarted node's /proc status is unreadable");
  ctx.log(
    `  restart: listening after ${(startMs / 1000).toFixed(1)} s, peak ${(mem.peakRssBytes / 2 ** 20).toFixed(0)} MiB`,
  );
  return { ...mem, startMs };
}
