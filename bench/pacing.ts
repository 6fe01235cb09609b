// Open-loop pacing: request n of a run at a fixed rate R has an intended start time of
// start + n / R, whatever happened to earlier requests. Latency is measured from that intended
// time, so a server that stalls is charged for the queue it causes (the coordinated-omission
// correction); a closed-loop client that waits politely would hide exactly those stalls.

/** Intended start time (ms, same clock as `startMs`) of request `index` at `ratePerSec`. */
export function intendedStartMs(index: number, startMs: number, ratePerSec: number): number {
  return startMs + (index * 1000) / ratePerSec;
}

/**
 * How many requests are due by `nowMs`: those with intended start <= now, i.e. the count of
 * indices n >= 0 with start + n/R <= now. Zero before the start. Capped at `requestsMax`.
 */
export function dueCount(nowMs: number, startMs: number, ratePerSec: number, requestsMax: number): number {
  if (nowMs < startMs) return 0;
  const due = Math.floor(((nowMs - startMs) * ratePerSec) / 1000) + 1;
  return Math.min(due, requestsMax);
}

/** Largest backlog (due but not yet sent) tolerated before an open-loop run is declared overloaded. */
export function backlogMax(ratePerSec: number): number {
  // One second of arrivals, at least 1000: beyond that the latency figures only measure the queue.
  return Math.max(1000, Math.ceil(ratePerSec));
}
