// Event-loop delay and GC pause metrics: a loop held for 150 ms shows in the window's maximum, the
// window after it no longer shows it, and garbage collections are counted by kind.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Metrics } from "../../../src/node/metrics.ts";
import { watchRuntime } from "../../../src/node/runtime-metrics.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const value = (text: string, name: string) => {
  const m = new RegExp(`^${name} ([0-9.]+)$`, "m").exec(text);
  assert.ok(m, `${name} is rendered`);
  return Number(m[1]);
};

test("event-loop delay: a held loop shows in its window's maximum, and only in that window", async () => {
  const metrics = new Metrics();
  // Thresholds far from the held time, so a busy CI machine's own stalls do not decide the test.
  const watch = watchRuntime(metrics, 400);
  try {
    await sleep(30);
    const until = performance.now() + 150;
    while (performance.now() < until) {} // hold the loop
    await sleep(450); // the window closes
    const held = metrics.render();
    assert.ok(value(held, "coterie_event_loop_delay_max_ms") >= 120, held);
    assert.ok(value(held, "coterie_event_loop_delay_p50_ms") < 120, "most samples were on time");
    await sleep(420); // a quiet window
    assert.ok(value(metrics.render(), "coterie_event_loop_delay_max_ms") < 120);
  } finally {
    watch.stop();
  }
});

test("garbage-collection pauses are counted by kind", async () => {
  const metrics = new Metrics();
  const watch = watchRuntime(metrics, 200);
  try {
    let keep: unknown[] = [];
    for (let i = 0; i < 200_000; i++) {
      keep.push({ i, s: `x${i}` });
      if (keep.length > 10_000) keep = [];
    }
    await sleep(50); // observer entries are delivered asynchronously
    const text = metrics.render();
    const minor = /^coterie_gc_pauses_total\{kind="minor"\} (\d+)$/m.exec(text);
    assert.ok(minor && Number(minor[1]) > 0, text);
    assert.match(text, /^coterie_gc_pause_ms_total\{kind="minor"\} [0-9.]+$/m);
  } finally {
    watch.stop();
  }
});
