import assert from "node:assert/strict";
import { test } from "node:test";
import { Pacer } from "../../../bench/pacer.ts";
import { backlogMax, dueCount, intendedStartMs } from "../../../bench/pacing.ts";

test("intended start times are evenly spaced from the start, independent of progress", () => {
  assert.equal(intendedStartMs(0, 1000, 500), 1000);
  assert.equal(intendedStartMs(1, 1000, 500), 1002);
  assert.equal(intendedStartMs(500, 1000, 500), 2000);
});

test("dueCount counts requests whose intended start has passed, capped by requestsMax", () => {
  assert.equal(dueCount(999, 1000, 1000, 1e9), 0);
  assert.equal(dueCount(1000, 1000, 1000, 1e9), 1); // request 0 is due at the start
  assert.equal(dueCount(1000.999, 1000, 1000, 1e9), 1);
  assert.equal(dueCount(1001, 1000, 1000, 1e9), 2);
  assert.equal(dueCount(2000, 1000, 1000, 1e9), 1001);
  assert.equal(dueCount(2000, 1000, 1000, 10), 10);
});

test("dueCount and intendedStartMs agree: request n is due exactly from its intended start", () => {
  for (const rate of [1, 7, 333, 25_000]) {
    for (let n = 0; n < 200; n++) {
      const t = intendedStartMs(n, 50, rate);
      assert.ok(dueCount(t + 1e-9, 50, rate, 1e9) >= n + 1, `rate ${rate} n ${n}`);
      assert.ok(dueCount(t - 1e-6, 50, rate, 1e9) <= n, `rate ${rate} n ${n} early`);
    }
  }
});

test("backlog bound is one second of arrivals, at least 1000", () => {
  assert.equal(backlogMax(10), 1000);
  assert.equal(backlogMax(25_000.5), 25_001);
});

test("the pacer thread wakes its caller from the first due time on, no more often than its gap, and not after close", async () => {
  const calls: number[] = [];
  // Far enough ahead that the worker (tens of ms to start) is waiting before the first due time.
  const startMs = performance.now() + 300;
  // 2,000/s with a 2 ms gap: the gap binds, so about one call per 2 ms once started.
  const pacer = new Pacer({
    startMs,
    ratePerSec: 2000,
    gapMs: 2,
    onDue: () => calls.push(performance.now()),
    onError: (err) => assert.fail(err),
  });
  await new Promise((r) => setTimeout(r, 550));
  await pacer.close();
  const ranMs = performance.now() - startMs;
  const count = calls.length;
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(calls.length, count, "no call after close");
  assert.ok(count >= 5, `called ${count} times in ~250 ms`);
  // Messages may queue behind a busy loop, so only the worker's side can be bounded: at most one
  // wake per gap from the first due time until it was stopped, plus one.
  assert.ok(count <= ranMs / 2 + 1, `called ${count} times in ${ranMs.toFixed(0)} ms`);
  // The first call comes after the first due time (the clocks of two threads agree to well under 1 ms).
  assert.ok(
    (calls[0] as number) >= startMs - 0.5,
    `first call ${(calls[0] as number) - startMs} ms from the start`,
  );
});

test("a pacer whose worker fails reports it", async () => {
  const errors: Error[] = [];
  const pacer = new Pacer({
    startMs: performance.now(),
    ratePerSec: 1000,
    gapMs: 1,
    onDue: () => assert.fail("a failed worker calls nothing"),
    onError: (err) => errors.push(err),
    source: `throw new Error("pacer broke");`,
  });
  for (let i = 0; i < 100 && errors.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
  await pacer.close();
  assert.equal(errors.length, 1);
  assert.match((errors[0] as Error).message, /pacer broke/);
});
