// Open-loop dispatch on time. The event loop's timers have a resolution of one millisecond: with a
// 1 ms tick, a request is written on average half a tick or more after its intended start, and
// that lag is counted in its latency (docs/performance.md measured 0.62 ms at the median, against
// a 5 ms target). This pacer sleeps on a worker thread with `Atomics.wait`, whose timeout is not
// rounded to milliseconds, and wakes the generator's event loop with one message when the next
// request is due, at most once per `gapMs`.
//
// A worker takes tens of milliseconds to start; until it runs, the generator's 1 ms timer sends
// what is due (the first requests of a run's warm-up, which are not measured).
//
// The worker's clock is `performance.timeOrigin + performance.now()`, as is the schedule passed to
// it: both threads read the same monotonic clock from their own origins. The generator measures the
// lag it actually gets (LoadResult.dispatchLagUs), so a pacer that drifts shows in the results.
import { Worker } from "node:worker_threads";

/** Plain JavaScript, so the worker needs no type-stripping loader. */
const PACER_SOURCE = `"use strict";
const { parentPort, workerData } = require("node:worker_threads");
const { performance } = require("node:perf_hooks");
const { startMs, ratePerSec, gapMs, control } = workerData;
const stop = new Int32Array(control);
const now = () => performance.timeOrigin + performance.now();
let next = 0;
let last = -Infinity;
while (Atomics.load(stop, 0) === 0) {
  const wake = Math.max(startMs + (next * 1000) / ratePerSec, last + gapMs);
  const t = now();
  if (wake > t) {
    Atomics.wait(stop, 0, 0, wake - t);
    continue;
  }
  parentPort.postMessage(0);
  last = t;
  next = Math.floor(((t - startMs) * ratePerSec) / 1000) + 1;
}
`;

export class Pacer {
  private readonly worker: Worker;
  private readonly stop = new Int32Array(new SharedArrayBuffer(4));

  /**
   * Calls `onDue` on this thread when request `n` is due (`startMs + n * 1000 / ratePerSec` on
   * this thread's `performance.now()` clock), at most once per `gapMs`, until `close`; `onError`
   * if the worker fails. `source` replaces the worker's code (tests).
   */
  constructor(args: {
    startMs: number;
    ratePerSec: number;
    gapMs: number;
    onDue: () => void;
    onError: (error: Error) => void;
    source?: string;
  }) {
    this.worker = new Worker(args.source ?? PACER_SOURCE, {
      eval: true,
      workerData: {
        startMs: performance.timeOrigin + args.startMs,
        ratePerSec: args.ratePerSec,
        gapMs: args.gapMs,
        control: this.stop.buffer,
      },
      resourceLimits: { maxYoungGenerationSizeMb: 1, maxOldGenerationSizeMb: 8 },
    });
    this.worker.on("message", args.onDue);
    this.worker.on("error", args.onError);
    this.worker.unref();
  }

  async close(): Promise<void> {
    Atomics.store(this.stop, 0, 1);
    Atomics.notify(this.stop, 0);
    await this.worker.terminate();
  }
}
