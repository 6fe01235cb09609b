// Pure parts of the footprint measurements (bench/footprint.ts) and of the table of issue-7
// targets measured directly: /proc status and Prometheus text parsing, request body sizes, the
// two-size fit of ledger bytes per write, and the verdict rows. Unit-tested in test/unit/bench/.
import type { SummaryRow } from "./summary.ts";

export const GIB = 2 ** 30;
/** Issue 7: a node holding 1 million small records stays under 1 GiB resident. */
export const MEMORY_RECORDS_TARGET = 1_000_000;
export const MEMORY_BYTES_MAX = GIB;
/** Issue 7: ledger growth within 2× of the payload plus a fixed overhead per write. */
export const LEDGER_SLOPE_MAX = 2;

/** VmRSS (resident now) and VmHWM (peak resident) of one /proc/<pid>/status text, in bytes. */
export function parseProcStatus(text: string): { rssBytes: number; peakRssBytes: number } {
  const kib = (field: string): number => {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB$`, "m").exec(text);
    if (m === null) throw new Error(`no ${field} in /proc status`);
    return Number(m[1]) * 1024;
  };
  return { rssBytes: kib("VmRSS"), peakRssBytes: kib("VmHWM") };
}

/** The unlabelled samples of a Prometheus text exposition: name -> value. */
export function parseGauges(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*) (\S+)$/.exec(line.trim());
    if (m === null) continue;
    const value = Number(m[2]);
    if (Number.isFinite(value)) out.set(m[1] as string, value);
  }
  return out;
}

/** Mean byte length of `body` with {id} replaced by idStart .. idStart+count-1 (ASCII bodies). */
export function meanBodyBytes(body: string, idStart: number, count: number): number {
  if (!(count > 0)) throw new RangeError("count must be positive");
  const placeholders = body.split("{id}").length - 1;
  const fixed = body.length - placeholders * "{id}".length;
  let digits = 0;
  for (let id = idStart; id < idStart + count; id++) digits += String(id).length;
  return fixed + (placeholders * digits) / count;
}

/** Ledger bytes and seqnos a batch of committed writes added, and the payload each carried. */
export type GrowthSample = { payloadBytes: number; writes: number; ledgerBytes: number; seqnos: number };

export type GrowthFit = {
  samples: { payloadBytes: number; bytesPerWrite: number; ratio: number; seqnosPerWrite: number }[];
  /** Ledger bytes per extra payload byte (the line through the two sizes). */
  slope: number;
  /** Ledger bytes per write at zero payload: the fixed overhead. */
  fixedBytes: number;
};

/** The line through (payload, ledger bytes per write) of two payload sizes. */
export function fitGrowth(a: GrowthSample, b: GrowthSample): GrowthFit {
  if (!(a.writes > 0 && b.writes > 0)) throw new RangeError("each sample needs writes");
  if (a.payloadBytes === b.payloadBytes) throw new RangeError("the two payload sizes must differ");
  const samples = [a, b].map((s) => ({
    payloadBytes: s.payloadBytes,
    bytesPerWrite: s.ledgerBytes / s.writes,
    ratio: s.ledgerBytes / s.writes / s.payloadBytes,
    seqnosPerWrite: s.seqnos / s.writes,
  }));
  const [p, q] = samples as [GrowthFit["samples"][0], GrowthFit["samples"][0]];
  const slope = (q.bytesPerWrite - p.bytesPerWrite) / (q.payloadBytes - p.payloadBytes);
  return { samples, slope, fixedBytes: p.bytesPerWrite - slope * p.payloadBytes };
}

/** What bench/footprint.ts measured on a fresh single node. */
export type FootprintResult = {
  /** Records the plan asked for, and how many were written and answered 2xx. */
  recordsPlanned: number;
  recordsWritten: number;
  /** Wall-clock time of the fill (all records), and its rate. */
  fillMs: number;
  /** Node process resident memory after the last write, and its peak (VmHWM) over the whole run. */
  rssBytes: number | null;
  peakRssBytes: number | null;
  /** Resident memory of every process in the node's process group (the node spawns none here). */
  groupRssBytes: number | null;
  /** Resident memory after each chunk of the fill: records so far -> bytes. */
  series: { records: number; rssBytes: number | null; elapsedMs: number }[];
  /**
   * The same node stopped and started again from its data directory (its snapshot and ledger):
   * the new process's peak (VmHWM) and resident size once caught up, and the time until it
   * listened. Null when the restart failed (the problems say why) or was not tried.
   */
  restart: { peakRssBytes: number; rssBytes: number; startMs: number } | null;
  growth: GrowthFit | null;
  problems: string[];
};

export type CheckRow = {
  measurement: string;
  value: string;
  target: string;
  /** "met", "not met", or why the row is not judged. */
  verdict: string;
};

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
const count = (n: number) => n.toLocaleString("en-US");

/**
 * The memory row: judged only when the node really held the target's million records, on the peak
 * of the fill and the peak of a restart from its data directory (holding them includes starting
 * with them); over the limit in either is "not met".
 */
export function memoryCheck(f: FootprintResult): CheckRow {
  const measurement = `resident memory of a single node holding ${count(f.recordsWritten)} small private records (peak VmHWM / VmRSS at the end; peak when restarted from its data directory)`;
  const target = `< 1 GiB with ${count(MEMORY_RECORDS_TARGET)} records`;
  if (f.peakRssBytes === null || f.rssBytes === null) {
    return {
      measurement,
      value: "—",
      target,
      verdict: `not measured: ${f.problems.join("; ") || "no /proc"}`,
    };
  }
  const rate =
    f.fillMs > 0
      ? ` (written in ${(f.fillMs / 1000).toFixed(0)} s, ${Math.round((f.recordsWritten * 1000) / f.fillMs)}/s)`
      : "";
  const restarted =
    f.restart === null
      ? "; restart not measured"
      : `; restarted: ${mib(f.restart.peakRssBytes)} peak, listening after ${(f.restart.startMs / 1000).toFixed(1)} s`;
  const value = `${mib(f.peakRssBytes)} / ${mib(f.rssBytes)}${rate}${restarted}`;
  const peak = Math.max(f.peakRssBytes, f.restart?.peakRssBytes ?? 0);
  let verdict: string;
  // Over the limit with fewer records than the target: the fill to a million passes through here.
  if (peak >= MEMORY_BYTES_MAX) verdict = "not met";
  else if (f.recordsWritten < MEMORY_RECORDS_TARGET) {
    verdict = `not judged: ${count(f.recordsWritten)} records, not ${count(MEMORY_RECORDS_TARGET)} (no scaling claimed)`;
  } else if (f.restart === null) {
    verdict = `not judged: the restart was not measured${f.problems.length > 0 ? ` (${f.problems.join("; ")})` : ""}`;
  } else verdict = "met";
  return { measurement, value, target, verdict };
}

/** The ledger-growth row: the slope of ledger bytes per payload byte against 2×. */
export function growthCheck(f: FootprintResult): CheckRow {
  const measurement = "ledger bytes per committed private write, two payload sizes (request body bytes)";
  const target = `≤ ${LEDGER_SLOPE_MAX}× payload + fixed overhead (slope ≤ ${LEDGER_SLOPE_MAX})`;
  const g = f.growth;
  if (g === null)
    return { measurement, value: "—", target, verdict: `not measured: ${f.problems.join("; ")}` };
  const sizes = g.samples
    .map((s) => `${s.payloadBytes.toFixed(0)} B → ${s.bytesPerWrite.toFixed(0)} B (${s.ratio.toFixed(2)}×)`)
    .join(", ");
  const value = `${sizes}; slope ${g.slope.toFixed(2)}, fixed ${g.fixedBytes.toFixed(0)} B/write`;
  return { measurement, value, target, verdict: g.slope <= LEDGER_SLOPE_MAX ? "met" : "not met" };
}

/** Bundle ÷ built-in rows from the summary (closed loop), one per workload that names a built-in. */
export function bundleChecks(rows: readonly SummaryRow[]): CheckRow[] {
  return rows
    .filter((r) => r.point === "closed" && r.ratioBuiltin !== null)
    .map((r) => ({
      measurement: `${r.workload} ÷ the built-in endpoint (closed-loop throughput, same run and generator)`,
      value: `${((r.ratioBuiltin as number) * 100).toFixed(0)}% (${Math.round(r.throughputPerSec)}/s)`,
      target: "none stated (ratio tracked)",
      verdict: "—",
    }));
}
