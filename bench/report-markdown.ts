// The markdown table printed at the end of a run and written beside the JSON: absolute figures
// for every point, for closed-loop rows the ratios to the ceiling, to etcd, (bundle rows) to the
// built-in endpoint and (respond-on-commit rows) to the replicated floor; then the issue-7 targets measured directly, each with its verdict.
import type { CheckRow } from "./footprint-calc.ts";
import type { SummaryRow } from "./summary.ts";

export type ReportHeader = {
  startedAt: string;
  machine: string;
  mode: string;
  repeats: number;
  /** Target name -> note (what it is) or "not available: reason". */
  targets: Record<string, string>;
};

/** Rounds to 3 significant digits, as a plain string ("—" for NaN or missing). */
export function formatNumber(value: number | null): string {
  if (value === null || !Number.isFinite(value)) return "—";
  if (value === 0) return "0";
  const digits = Math.max(0, 2 - Math.floor(Math.log10(Math.abs(value))));
  return value >= 1000 ? String(Math.round(value)) : value.toFixed(Math.min(digits, 3));
}

function formatRatio(value: number | null): string {
  return value === null ? "" : `${(value * 100).toFixed(0)}%`;
}

/** Steal time to one decimal ("—" where unmeasured). */
function formatSteal(value: number): string {
  return Number.isFinite(value) ? value.toFixed(1) : "—";
}

function formatErrors(row: SummaryRow): string {
  const parts = Object.entries(row.errors).map(([k, v]) => `${k}×${v}`);
  if (row.failures.length > 0)
    parts.push(`failed ${row.failures.length}: ${row.failures[0]!.replaceAll("|", "/")}`);
  return parts.join(", ");
}

const COLUMNS = [
  "workload",
  "load",
  "offered/s",
  "throughput/s",
  "p50 ms",
  "p90 ms",
  "p99 ms",
  "p99.9 ms",
  "max ms",
  "sent late p50 ms",
  "CPU µs/resp",
  "÷ ceiling",
  "÷ ceiling per CPU",
  "÷ etcd",
  "÷ built-in",
  "÷ floor",
  "steal %",
  "errors",
];

export function renderMarkdown(
  header: ReportHeader,
  rows: readonly SummaryRow[],
  checks: readonly CheckRow[] = [],
): string {
  const lines = [
    `## Benchmark run ${header.startedAt}`,
    "",
    `Machine: ${header.machine}. Mode: ${header.mode}; figures are medians of ${header.repeats} repeat(s).`,
    "",
    ...Object.entries(header.targets).map(([name, note]) => `- **${name}**: ${note}`),
    "",
    `| ${COLUMNS.join(" | ")} |`,
    `|${COLUMNS.map((_, i) => (i < 2 ? "---" : "---:")).join("|")}|`,
  ];
  for (const r of rows) {
    const l = r.latencyMs;
    const cells = [
      r.workload,
      r.point,
      formatNumber(r.offeredPerSec),
      formatNumber(r.throughputPerSec),
      ...[l.p50, l.p90, l.p99, l.p999, l.max].map(formatNumber),
      formatNumber(r.dispatchLagP50Ms),
      formatNumber(r.serverCpuUsPerResponse),
      formatRatio(r.ratioCeiling),
      formatRatio(r.ratioCeilingCpu),
      formatRatio(r.ratioEtcd),
      formatRatio(r.ratioBuiltin),
      formatRatio(r.ratioFloor),
      formatSteal(r.stealPct),
      formatErrors(r),
    ];
    lines.push(`| ${cells.join(" | ")} |`);
  }
  lines.push("");
  if (checks.length > 0) {
    lines.push(
      "### Targets measured directly",
      "",
      "| measurement | value | target | verdict |",
      "|---|---|---|---|",
    );
    const cell = (text: string) => text.replaceAll("|", "/");
    for (const c of checks)
      lines.push(`| ${[c.measurement, c.value, c.target, c.verdict].map(cell).join(" | ")} |`);
    lines.push("");
  }
  return lines.join("\n");
}
