import assert from "node:assert/strict";
import { test } from "node:test";
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
