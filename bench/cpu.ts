// CPU time used by a target's processes, read from /proc: on a shared, noisy machine the CPU a
// server spends per response moves far less than its wall-clock throughput does, so it is the
// steadier figure for comparing Coterie with the ceiling. And the machine's steal time: the share
// of its CPU time the hypervisor gave to other tenants, which says how noisy a point's window was.
// Linux only; elsewhere both report null.
import { readdirSync, readFileSync } from "node:fs";

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ: 100 on every Linux we run). */
const TICKS_PER_SEC = 100;

export type ProcStat = { pid: number; processGroup: number; cpuTicks: number };

/**
 * Parses one /proc/<pid>/stat line. The command name (field 2) may contain spaces and
 * parentheses, so fields are counted from the last ")". utime and stime are fields 14 and 15.
 */
export function parseProcStat(text: string): ProcStat {
  const close = text.lastIndexOf(")");
  if (close < 0) throw new Error("malformed /proc stat line");
  const pid = Number.parseInt(text, 10);
  const rest = text.slice(close + 2).split(" "); // rest[0] is field 3 (state)
  const processGroup = Number(rest[2]);
  const cpuTicks = Number(rest[11]) + Number(rest[12]);
  if (!Number.isInteger(pid) || !Number.isInteger(processGroup) || !Number.isFinite(cpuTicks)) {
    throw new Error("malformed /proc stat fields");
  }
  return { pid, processGroup, cpuTicks };
}

/** Milliseconds of CPU (user + system) used so far by all live processes in the given groups. */
export function groupCpuMs(processGroups: readonly number[]): number | null {
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return null;
  }
  const wanted = new Set(processGroups);
  let ticks = 0;
  for (const name of entries) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = parseProcStat(readFileSync(`/proc/${name}/stat`, "utf8"));
      if (wanted.has(stat.processGroup)) ticks += stat.cpuTicks;
    } catch {
      // The process exited while we looked.
    }
  }
  return (ticks * 1000) / TICKS_PER_SEC;
}

/** The machine's CPU time so far, in ticks summed over its CPUs: all of it and the stolen part. */
export type MachineTicks = { totalTicks: number; stealTicks: number };

/**
 * Parses the aggregate `cpu` line of /proc/stat: user nice system idle iowait irq softirq steal
 * (guest and guest_nice are already counted in user and nice, so they are not added again).
 */
export function parseCpuLine(text: string): MachineTicks {
  const line = text.split("\n").find((l) => l.startsWith("cpu "));
  const fields = line?.trim().split(/\s+/).slice(1, 9).map(Number) ?? [];
  if (fields.length < 8 || fields.some((f) => !Number.isFinite(f) || f < 0)) {
    throw new Error("malformed /proc/stat cpu line");
  }
  return { totalTicks: fields.reduce((a, b) => a + b, 0), stealTicks: fields[7] as number };
}

/** The machine's CPU ticks so far, or null where /proc/stat cannot be read. */
export function machineTicks(): MachineTicks | null {
  try {
    return parseCpuLine(readFileSync("/proc/stat", "utf8"));
  } catch {
    return null;
  }
}

/** Steal time between two readings, as a percentage of all the machine's CPU time then (null if unknown). */
export function stealPercent(before: MachineTicks | null, after: MachineTicks | null): number | null {
  if (before === null || after === null) return null;
  const total = after.totalTicks - before.totalTicks;
  return total > 0 ? (100 * (after.stealTicks - before.stealTicks)) / total : null;
}
