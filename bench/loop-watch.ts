// What a phase of a micro-benchmark costs the process it runs in (bench/snapshot-stall.ts,
// bench/snapshot-serve.ts): the longest gap between ticks of a 1 ms timer (how long the event loop
// was held) and the rise of the peak resident size (VmHWM). The peak is reset first
// (/proc/self/clear_refs, after a full collection when run with --expose-gc), so that what the
// process did before the phase does not hide the phase's own peak. Linux only.
import { readFileSync, writeFileSync } from "node:fs";

export type LoopWatchResult = {
  /** Longest gap between timer ticks, ms, including the stretch from the last tick to `stop()`. */
  gapMaxMs: number;
  ticks: number;
  /** Resident size when the watch started, KiB. */
  rssBeforeKiB: number;
  /** VmHWM at `stop()` minus VmHWM at the start (after the reset), KiB. */
  peakRiseKiB: number;
};

export function statusKiB(field: "VmHWM" | "VmRSS"): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync("/proc/self/status", "utf8"));
  if (m === null) throw new Error(`no ${field} in /proc/self/status`);
  return Number(m[1]);
}

/** Starts watching now; `stop()` ends the watch and reports. */
export function watchLoop(): { stop(): LoopWatchResult } {
  (globalThis as { gc?: () => void }).gc?.();
  writeFileSync("/proc/self/clear_refs", "5");
  const rssBeforeKiB = statusKiB("VmRSS");
  const hwmBeforeKiB = statusKiB("VmHWM");
  let last = performance.now();
  let gapMaxMs = 0;
  let ticks = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    gapMaxMs = Math.max(gapMaxMs, now - last);
    last = now;
    ticks++;
  }, 1);
  return {
    stop() {
      // The last stretch counts too: a stall just before the end has no tick after it yet.
      gapMaxMs = Math.max(gapMaxMs, performance.now() - last);
      clearInterval(timer);
      return { gapMaxMs, ticks, rssBeforeKiB, peakRiseKiB: statusKiB("VmHWM") - hwmBeforeKiB };
    },
  };
}
