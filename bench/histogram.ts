// A log-linear latency histogram in the style of HdrHistogram: exact below 256, then 128 linear
// sub-buckets per power of two, so every recorded value lands in a bucket whose width is at most
// 1/128 (0.8%) of the value. Memory is fixed (one Float64Array of BUCKET_COUNT slots) whatever the
// number of samples. Written here rather than depending on hdr-histogram-js: it is ~80 lines, we
// need only record/percentile/merge/serialise, and it stays free of WebAssembly and globals.

/** Linear sub-buckets per power of two; precision is 1 / SUB_BUCKETS_HALF. */
const SUB_BUCKETS_HALF = 128;
const SUB_BITS = 7; // log2(SUB_BUCKETS_HALF)
/** Values are clamped to this maximum (in the caller's unit; microseconds here: ~35 minutes). */
export const HISTOGRAM_VALUE_MAX = 2 ** 31 - 1;
const EXPONENT_MAX = 30; // floor(log2(HISTOGRAM_VALUE_MAX))
export const HISTOGRAM_BUCKET_COUNT = 2 * SUB_BUCKETS_HALF + (EXPONENT_MAX - 7) * SUB_BUCKETS_HALF;

/** Bucket index of a non-negative integer value (already clamped). */
export function bucketIndexOf(value: number): number {
  if (value < 2 * SUB_BUCKETS_HALF) return value;
  const exponent = 31 - Math.clz32(value); // >= 8
  const shift = exponent - SUB_BITS;
  const sub = value >>> shift; // in [128, 255]
  return 2 * SUB_BUCKETS_HALF + (exponent - 8) * SUB_BUCKETS_HALF + (sub - SUB_BUCKETS_HALF);
}

/** Highest value that maps to bucket `index` (what HdrHistogram reports for a percentile). */
export function bucketHighestValue(index: number): number {
  if (index < 2 * SUB_BUCKETS_HALF) return index;
  const rest = index - 2 * SUB_BUCKETS_HALF;
  const exponent = 8 + Math.floor(rest / SUB_BUCKETS_HALF);
  const sub = SUB_BUCKETS_HALF + (rest % SUB_BUCKETS_HALF);
  const shift = exponent - SUB_BITS;
  return (sub + 1) * 2 ** shift - 1;
}

/** Sparse, JSON-friendly form: [bucketIndex, count] pairs plus exact extremes. */
export type HistogramJson = {
  counts: Array<[number, number]>;
  total: number;
  minValue: number;
  maxValue: number;
  sum: number;
};

export class Histogram {
  readonly counts = new Float64Array(HISTOGRAM_BUCKET_COUNT);
  total = 0;
  minValue = Number.POSITIVE_INFINITY;
  maxValue = 0;
  sum = 0;

  /** Records one value; negatives count as 0, fractions round, huge values clamp to the maximum. */
  record(value: number): void {
    const v = value <= 0 ? 0 : Math.min(Math.round(value), HISTOGRAM_VALUE_MAX);
    this.counts[bucketIndexOf(v)]! += 1;
    this.total += 1;
    this.sum += v;
    if (v < this.minValue) this.minValue = v;
    if (v > this.maxValue) this.maxValue = v;
  }

  /**
   * The value at `percentile` (0 < p <= 100): the highest value of the first bucket whose
   * cumulative count reaches ceil(p% of total), never above the exact maximum. 0 when empty.
   */
  valueAtPercentile(percentile: number): number {
    if (!(percentile > 0 && percentile <= 100))
      throw new RangeError(`percentile ${percentile} not in (0, 100]`);
    if (this.total === 0) return 0;
    const rank = Math.max(1, Math.ceil((percentile / 100) * this.total));
    let seen = 0;
    for (let i = 0; i < HISTOGRAM_BUCKET_COUNT; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return Math.min(bucketHighestValue(i), this.maxValue);
    }
    return this.maxValue;
  }

  mean(): number {
    return this.total === 0 ? 0 : this.sum / this.total;
  }

  /** Adds every sample of `other` into this histogram. */
  add(other: Histogram): void {
    for (let i = 0; i < HISTOGRAM_BUCKET_COUNT; i++) this.counts[i]! += other.counts[i]!;
    this.total += other.total;
    this.sum += other.sum;
    if (other.total > 0) {
      this.minValue = Math.min(this.minValue, other.minValue);
      this.maxValue = Math.max(this.maxValue, other.maxValue);
    }
  }

  toJSON(): HistogramJson {
    const counts: Array<[number, number]> = [];
    for (let i = 0; i < HISTOGRAM_BUCKET_COUNT; i++)
      if (this.counts[i]! > 0) counts.push([i, this.counts[i]!]);
    const minValue = this.total === 0 ? 0 : this.minValue;
    return { counts, total: this.total, minValue, maxValue: this.maxValue, sum: this.sum };
  }

  static fromJSON(json: HistogramJson): Histogram {
    const h = new Histogram();
    for (const [index, count] of json.counts) {
      if (!(Number.isInteger(index) && index >= 0 && index < HISTOGRAM_BUCKET_COUNT)) {
        throw new RangeError(`histogram bucket index ${index} out of range`);
      }
      h.counts[index]! += count;
    }
    h.total = json.total;
    h.sum = json.sum;
    h.maxValue = json.maxValue;
    h.minValue = json.total === 0 ? Number.POSITIVE_INFINITY : json.minValue;
    return h;
  }
}
