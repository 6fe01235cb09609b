// From raw measurement points to the rows people read: medians over repeats (these machines are
// noisy; a median of N is steadier than a mean and honest about it), errors summed, and each
// Coterie closed-loop figure divided by its baselines' closed-loop figures from the same run
// (a governed-bundle figure also by the same endpoint built in, a respond-on-commit figure by the
// replicated floor with as many members).
import type { LoadResult } from "./load-config.ts";
import type { Workload } from "./workloads.ts";

export type PointRecord = {
  workload: string;
  target: string;
  /** "closed" or "open 25%", "open 75%" ... */
  point: string;
  repeat: number;
  result: LoadResult;
  /** CPU the target's processes spent per request during this point (null where unmeasured). */
  serverCpuUsPerResponse?: number | null;
  /** The machine's steal time during this point, % of its CPU time (null where unmeasured). */
  stealPct?: number | null;
  /**
   * Multi-node Coterie targets: milliseconds the suite waited before this point for every node to
   * apply what earlier points sent; null if they had not within its limit (the point ran anyway).
   */
  catchUpMs?: number | null;
};

export type SummaryRow = {
  workload: string;
  target: string;
  point: string;
  /** Offered rate of open-loop points (median over repeats), null for closed loop. */
  offeredPerSec: number | null;
  throughputPerSec: number;
  latencyMs: { p50: number; p90: number; p99: number; p999: number; max: number };
  /**
   * Open-loop rows: median p50 of how late the generator wrote a request after its intended start
   * (included in `latencyMs`), NaN for closed-loop rows and results from before it was measured.
   */
  dispatchLagP50Ms: number;
  /** Median CPU microseconds the target spent per response (all its processes), or NaN. */
  serverCpuUsPerResponse: number;
  /** Median over repeats of the machine's steal time during the point, % of its CPU time, or NaN. */
  stealPct: number;
  errors: Record<string, number>;
  /** How many repeats produced a usable result, and the failures of the others. */
  okRepeats: number;
  failures: string[];
  ratioCeiling: number | null;
  ratioEtcd: number | null;
  /** Divided by the same endpoint built into the node (governed-bundle rows). */
  ratioBuiltin: number | null;
  /** Divided by the replicated floor with as many members (respond-on-commit rows, bench/replicated-floor.ts). */
  ratioFloor: number | null;
  /** Ceiling's CPU per response divided by this row's: throughput per core relative to the ceiling. */
  ratioCeilingCpu: number | null;
};

/** Median of a non-empty list (mean of the middle two for even lengths); NaN when empty. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function summariseGroup(points: readonly PointRecord[]): SummaryRow {
  const first = points[0]!;
  const ok = points.filter((p) => p.result.ok);
  const errors: Record<string, number> = {};
  for (const p of points)
    for (const [k, v] of Object.entries(p.result.errors ?? {})) errors[k] = (errors[k] ?? 0) + v;
  const ms = (pick: (r: LoadResult) => number) => median(ok.map((p) => pick(p.result) / 1000));
  const rates = ok.map((p) => p.result.ratePerSec).filter((r): r is number => r !== null);
  return {
    workload: first.workload,
    target: first.target,
    point: first.point,
    offeredPerSec: rates.length > 0 ? median(rates) : null,
    throughputPerSec: median(ok.map((p) => p.result.throughputPerSec)),
    latencyMs: {
      p50: ms((r) => r.latencyUs.p50),
      p90: ms((r) => r.latencyUs.p90),
      p99: ms((r) => r.latencyUs.p99),
      p999: ms((r) => r.latencyUs.p999),
      max: ms((r) => r.latencyUs.max),
    },
    dispatchLagP50Ms:
      median(ok.map((p) => p.result.dispatchLagUs?.p50).filter((v): v is number => typeof v === "number")) /
      1000,
    serverCpuUsPerResponse: median(
      ok.map((p) => p.serverCpuUsPerResponse).filter((v): v is number => typeof v === "number"),
    ),
    // Over every repeat, failed ones too: the machine was as noisy whether or not the point failed.
    stealPct: median(points.map((p) => p.stealPct).filter((v): v is number => typeof v === "number")),
    errors,
    okRepeats: ok.length,
    failures: points.filter((p) => !p.result.ok).map((p) => p.result.failure ?? "unknown failure"),
    ratioCeiling: null,
    ratioEtcd: null,
    ratioBuiltin: null,
    ratioFloor: null,
    ratioCeilingCpu: null,
  };
}

/** One row per (workload, point) in first-seen order, with ratios filled for closed-loop rows. */
export function summarise(points: readonly PointRecord[], workloads: readonly Workload[]): SummaryRow[] {
  const groups = new Map<string, PointRecord[]>();
  for (const p of points) {
    const key = `${p.workload}\u0000${p.point}`;
    const list = groups.get(key) ?? [];
    list.push(p);
    groups.set(key, list);
  }
  const rows = [...groups.values()].map(summariseGroup);
  const closedRows = rows.filter((r) => r.point === "closed");
  const closed = new Map(closedRows.map((r) => [r.workload, r.throughputPerSec]));
  const closedCpu = new Map(closedRows.map((r) => [r.workload, r.serverCpuUsPerResponse]));
  const ratio = (value: number, base: string | undefined): number | null => {
    const denominator = base === undefined ? undefined : closed.get(base);
    if (denominator === undefined || !(denominator > 0) || !Number.isFinite(value)) return null;
    return value / denominator;
  };
  for (const row of rows) {
    if (row.point !== "closed") continue;
    const compare = workloads.find((w) => w.name === row.workload)?.compare;
    row.ratioCeiling = ratio(row.throughputPerSec, compare?.ceiling);
    row.ratioEtcd = ratio(row.throughputPerSec, compare?.etcd);
    row.ratioBuiltin = ratio(row.throughputPerSec, compare?.builtin);
    row.ratioFloor = ratio(row.throughputPerSec, compare?.floor);
    const ceilingCpu = compare?.ceiling === undefined ? undefined : closedCpu.get(compare.ceiling);
    const ownCpu = row.serverCpuUsPerResponse;
    if (ceilingCpu !== undefined && ceilingCpu > 0 && ownCpu > 0) row.ratioCeilingCpu = ceilingCpu / ownCpu;
  }
  return rows;
}
