// The request histogram renders Prometheus's cumulative buckets: each `le` bucket counts every
// request at or below its bound, `+Inf` and `_count` every request, `_sum` their durations.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Metrics } from "../../../src/node/metrics.ts";

function series(text: string, route: string): Map<string, number> {
  const out = new Map<string, number>();
  const prefix = "coterie_request_duration_ms_";
  for (const line of text.split("\n")) {
    if (!line.startsWith(prefix) || !line.includes(`route="${route}"`)) continue;
    const [name, value] = line.slice(prefix.length).split(" ");
    const le = /le="([^"]+)"/.exec(name as string)?.[1];
    out.set(le === undefined ? ((name as string).split("{")[0] as string) : `le=${le}`, Number(value));
  }
  return out;
}

test("duration buckets are cumulative, bounds inclusive, and +Inf counts everything", () => {
  const metrics = new Metrics();
  for (const ms of [0.2, 0.5, 0.7, 3, 10, 10.01, 9999, 10_000, 20_000]) metrics.observe("/r", 200, ms);
  metrics.observe("/other", 404, 1);
  const s = series(metrics.render(), "/r");
  assert.equal(s.get("le=0.5"), 2, "0.2 and 0.5 (the bound itself)");
  assert.equal(s.get("le=1"), 3);
  assert.equal(s.get("le=2"), 3);
  assert.equal(s.get("le=5"), 4);
  assert.equal(s.get("le=10"), 5);
  assert.equal(s.get("le=25"), 6);
  assert.equal(s.get("le=5000"), 6);
  assert.equal(s.get("le=10000"), 8);
  assert.equal(s.get("le=+Inf"), 9);
  assert.equal(s.get("count"), 9);
  assert.ok(Math.abs((s.get("sum") as number) - 40_023.41) < 1e-6);
  const other = series(metrics.render(), "/other");
  assert.equal(other.get("le=0.5"), 0);
  assert.equal(other.get("le=1"), 1);
  assert.equal(other.get("le=+Inf"), 1);
});
