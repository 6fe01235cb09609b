import assert from "node:assert/strict";
import { test } from "node:test";
import {
  bucketHighestValue,
  bucketIndexOf,
  HISTOGRAM_BUCKET_COUNT,
  HISTOGRAM_VALUE_MAX,
  Histogram,
} from "../../../bench/histogram.ts";

/** Naive percentile over the raw samples, with the same rank rule: the ceil(p% * n)-th smallest. */
function naivePercentile(samples: number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.max(1, Math.ceil((p / 100) * sorted.length)) - 1]!;
}

test("values below 256 are exact buckets", () => {
  for (let v = 0; v < 256; v++) {
    assert.equal(bucketIndexOf(v), v);
    assert.equal(bucketHighestValue(v), v);
  }
});

test("every bucket covers a contiguous range and is at most 1/128 of its values wide", () => {
  let previousHigh = -1;
  for (let i = 0; i < HISTOGRAM_BUCKET_COUNT; i++) {
    const high = bucketHighestValue(i);
    const low = previousHigh + 1;
    assert.equal(bucketIndexOf(low), i, `low end of bucket ${i}`);
    assert.equal(bucketIndexOf(high), i, `high end of bucket ${i}`);
    assert.ok(high - low + 1 <= Math.max(1, low / 128), `bucket ${i} [${low}, ${high}] too wide`);
    previousHigh = high;
  }
  assert.ok(bucketIndexOf(HISTOGRAM_VALUE_MAX) === HISTOGRAM_BUCKET_COUNT - 1);
});

test("percentiles match a naive sort within 1% on a skewed random sample", () => {
  const h = new Histogram();
  const samples: number[] = [];
  let seed = 42;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let i = 0; i < 20_000; i++) {
    const v = Math.round(50 + 1e6 * random() ** 6); // long tail from 50 µs to ~1 s
    samples.push(v);
    h.record(v);
  }
  for (const p of [50, 90, 99, 99.9, 100]) {
    const exact = naivePercentile(samples, p);
    const got = h.valueAtPercentile(p);
    assert.ok(got >= exact && got <= exact * 1.01 + 1, `p${p}: got ${got}, exact ${exact}`);
  }
  assert.equal(h.valueAtPercentile(100), Math.max(...samples));
  assert.equal(h.total, samples.length);
});

test("records clamp, round and ignore negatives; empty histogram reports zeros", () => {
  const h = new Histogram();
  assert.equal(h.valueAtPercentile(99), 0);
  h.record(-5);
  h.record(2.6);
  h.record(1e15);
  assert.equal(h.minValue, 0);
  assert.equal(h.maxValue, HISTOGRAM_VALUE_MAX);
  assert.equal(h.valueAtPercentile(50), 3);
  assert.throws(() => h.valueAtPercentile(0), RangeError);
  assert.throws(() => h.valueAtPercentile(101), RangeError);
});

test("merging and a JSON round trip preserve every percentile", () => {
  const a = new Histogram();
  const b = new Histogram();
  for (let i = 1; i <= 1000; i++) a.record(i * 37);
  for (let i = 1; i <= 500; i++) b.record(i * 1013);
  const merged = new Histogram();
  merged.add(a);
  merged.add(b);
  const copy = Histogram.fromJSON(JSON.parse(JSON.stringify(merged.toJSON())));
  for (const p of [1, 50, 90, 99, 99.9, 100])
    assert.equal(copy.valueAtPercentile(p), merged.valueAtPercentile(p));
  assert.equal(copy.total, 1500);
  assert.equal(copy.minValue, 37);
  assert.equal(copy.maxValue, 500 * 1013);
  assert.throws(
    () =>
      Histogram.fromJSON({
        counts: [[HISTOGRAM_BUCKET_COUNT, 1]],
        total: 1,
        minValue: 0,
        maxValue: 0,
        sum: 0,
      }),
    RangeError,
  );
});
