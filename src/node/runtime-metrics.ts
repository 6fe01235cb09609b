/**
 * What the process itself makes requests wait for, as metrics: event-loop delay (how late a timer
 * fired: the loop was busy or the process was not scheduled) and garbage-collection pauses. These
 * tell a latency tail made by the node's own stalls from one made by queueing.
 *
 * Event-loop delay is sampled by a 10 ms timer (`perf_hooks.monitorEventLoopDelay`) and reported
 * per window of `windowMs`: the gauges hold the last complete window, so one stall at start-up does
 * not hide every later one. Garbage collection is counted by kind since start.
 */
import { constants, monitorEventLoopDelay, PerformanceObserver } from "node:perf_hooks";
import type { Metrics } from "./metrics.ts";

const gcKinds = new Map<number, string>([
  [constants.NODE_PERFORMANCE_GC_MINOR, "minor"],
  [constants.NODE_PERFORMANCE_GC_MAJOR, "major"],
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL, "incremental"],
  [constants.NODE_PERFORMANCE_GC_WEAKCB, "weakcb"],
]);

export type RuntimeWatch = { stop(): void };

export function watchRuntime(metrics: Metrics, windowMs = 10_000): RuntimeWatch {
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  let last = { p50: 0, p99: 0, max: 0 };
  let gcMaxInWindow = 0;
  let gcMaxLast = 0;
  const window = setInterval(() => {
    // The histogram is in nanoseconds; an empty window (no sample) reads as zeros.
    const ms = (ns: number) => (delay.count === 0 ? 0 : Math.round(ns / 1e4) / 100);
    last = { p50: ms(delay.percentile(50)), p99: ms(delay.percentile(99)), max: ms(delay.max) };
    delay.reset();
    gcMaxLast = gcMaxInWindow;
    gcMaxInWindow = 0;
  }, windowMs);
  window.unref();

  const pauses = new Map<string, number>();
  const pauseMs = new Map<string, number>();
  const gc = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      // A "gc" entry's detail holds its kind (node:perf_hooks, NodeGCPerformanceDetail).
      const detail = (entry as { detail?: { kind?: number } }).detail;
      const kind = gcKinds.get(detail?.kind ?? -1) ?? "other";
      pauses.set(kind, (pauses.get(kind) ?? 0) + 1);
      pauseMs.set(kind, (pauseMs.get(kind) ?? 0) + entry.duration);
      if (entry.duration > gcMaxInWindow) gcMaxInWindow = entry.duration;
    }
  });
  gc.observe({ entryTypes: ["gc"] });

  const per = `over the last ${windowMs / 1000} s window`;
  metrics.gauge("coterie_event_loop_delay_p50_ms", `Event-loop delay, median ${per}.`, () => last.p50);
  metrics.gauge(
    "coterie_event_loop_delay_p99_ms",
    `Event-loop delay, 99th percentile ${per}.`,
    () => last.p99,
  );
  metrics.gauge("coterie_event_loop_delay_max_ms", `Event-loop delay, longest ${per}.`, () => last.max);
  metrics.gauge(
    "coterie_gc_pause_max_ms",
    `Longest garbage-collection pause ${per}.`,
    () => Math.round(gcMaxLast * 100) / 100,
  );
  metrics.counter(
    "coterie_gc_pauses_total",
    "Garbage-collection pauses since start, by kind.",
    "kind",
    () => pauses,
  );
  metrics.counter(
    "coterie_gc_pause_ms_total",
    "Time in garbage-collection pauses since start, by kind (ms).",
    "kind",
    () => new Map([...pauseMs].map(([k, v]) => [k, Math.round(v * 100) / 100])),
  );

  return {
    stop() {
      clearInterval(window);
      delay.disable();
      gc.disconnect();
    },
  };
}
