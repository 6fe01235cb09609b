// CPU time used by a target's processes, read from /proc: on a shared, noisy machine the CPU a
// server spends per response moves far less than its wall-clock throughput does, so it is the
// steadier figure for comparing Coterie with the ceiling. Linux only; elsewhere it reports null.
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
