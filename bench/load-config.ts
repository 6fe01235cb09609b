// Configuration and result shapes of the load generator (bench/load.ts). The suite passes the
// configuration as one JSON argument and reads back one JSON line; `validateLoadConfig` fills
// defaults and rejects nonsense before a single socket opens, and bounds everything.
import type { HistogramJson } from "./histogram.ts";
import type { RequestTemplate } from "./request-template.ts";

export const CONNECTIONS_MAX = 1024;
export const PIPELINING_MAX = 256;
export const DURATION_MS_MAX = 10 * 60 * 1000;
export const REQUESTS_MAX = 100_000_000;
export const RATE_PER_SEC_MAX = 1_000_000;
/** Open loop: the least time between two dispatches woken by the pacer (bench/pacer.ts). */
export const PACING_GAP_US_DEFAULT = 200;
export const PACING_GAP_US_MAX = 1000;

/** Whether `value` is a pacer gap the generator accepts (an integer in [0, PACING_GAP_US_MAX] µs). */
export function isPacingGapUs(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) >= 0 && (value as number) <= PACING_GAP_US_MAX;
}

export type LoadConfig = {
  /** Base URLs (http: or https:); connections are spread over them round-robin. */
  targets: string[];
  /** PEM files for https targets: CA to verify the server, client certificate and key (mTLS). */
  tls?: { caFile: string; certFile: string; keyFile: string };
  connections: number;
  /** Requests written back to back on one connection before waiting for responses. */
  pipelining: number;
  mode: "closed" | "open";
  /** Open loop only: requests per second over all connections. */
  ratePerSec?: number;
  /**
   * Open loop only: the pacer thread wakes the generator when a request is due, at most once per
   * this many µs (default 200). 0: no pacer, only the event loop's 1 ms tick (what runs before
   * the eleventh session measured with).
   */
  pacingGapUs?: number;
  warmupMs: number;
  durationMs: number;
  /** After the measured window, how long to wait for outstanding responses. */
  drainMs: number;
  /** Stop sending after this many requests (preloading uses it; otherwise a safety bound). */
  requestsMax: number;
  templates: RequestTemplate[];
  idStart: number;
  randMax: number;
};

export type LatencySummaryUs = {
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
};

export type LoadResult = {
  ok: boolean;
  /** Why the run is not usable (connect failure, overload, ...), when ok is false. */
  failure?: string;
  mode: "closed" | "open";
  ratePerSec: number | null;
  connections: number;
  pipelining: number;
  measuredMs: number;
  sent: number;
  /** Successful (2xx) responses to requests started inside the measured window. */
  completedOk: number;
  throughputPerSec: number;
  /** Counts by HTTP status (non-2xx), "connection" and "timeout". */
  errors: Record<string, number>;
  latencyUs: LatencySummaryUs;
  histogram: HistogramJson;
  /**
   * Open loop only: how late the generator wrote each measured request after its intended start
   * (part of its latency): the generator's own delay, and the wait for a free pipeline slot when
   * the target is behind.
   */
  dispatchLagUs?: LatencySummaryUs;
};

function positiveInt(name: string, value: unknown, max: number): number {
  if (typeof value !== "number" || !Number.isInteger(value))
    throw new TypeError(`${name} must be an integer`);
  if (value < 1 || value > max) throw new RangeError(`${name} must be in [1, ${max}], got ${value}`);
  return value;
}

/** Checks a parsed configuration; returns it with defaults filled. Throws TypeError/RangeError. */
export function validateLoadConfig(raw: Partial<LoadConfig>): LoadConfig {
  if (!Array.isArray(raw.targets) || raw.targets.length === 0)
    throw new TypeError("targets must be a non-empty array");
  for (const t of raw.targets) {
    const url = new URL(t);
    if (url.protocol !== "http:" && url.protocol !== "https:")
      throw new RangeError(`target ${t}: http or https only`);
    if (url.protocol === "https:" && raw.tls === undefined)
      throw new TypeError(`target ${t}: https needs tls files`);
  }
  const mode = raw.mode ?? "closed";
  if (mode !== "closed" && mode !== "open") throw new RangeError(`mode must be closed or open`);
  const config: LoadConfig = {
    targets: raw.targets,
    connections: positiveInt("connections", raw.connections ?? 16, CONNECTIONS_MAX),
    pipelining: positiveInt("pipelining", raw.pipelining ?? 1, PIPELINING_MAX),
    mode,
    warmupMs: raw.warmupMs ?? 1000,
    durationMs: positiveInt("durationMs", raw.durationMs ?? 5000, DURATION_MS_MAX),
    drainMs: raw.drainMs ?? 2000,
    requestsMax: positiveInt("requestsMax", raw.requestsMax ?? REQUESTS_MAX, REQUESTS_MAX),
    templates: raw.templates ?? [],
    idStart: raw.idStart ?? 0,
    randMax: positiveInt("randMax", raw.randMax ?? 1, REQUESTS_MAX),
  };
  if (raw.tls !== undefined) config.tls = raw.tls;
  if (mode === "open") {
    config.ratePerSec = positiveInt("ratePerSec", raw.ratePerSec, RATE_PER_SEC_MAX);
    const gap = raw.pacingGapUs ?? PACING_GAP_US_DEFAULT;
    if (!isPacingGapUs(gap))
      throw new RangeError(`pacingGapUs must be an integer in [0, ${PACING_GAP_US_MAX}], got ${gap}`);
    config.pacingGapUs = gap;
  }
  if (!(config.warmupMs >= 0 && config.warmupMs <= DURATION_MS_MAX))
    throw new RangeError("warmupMs out of range");
  if (!(config.drainMs >= 0 && config.drainMs <= 60_000)) throw new RangeError("drainMs out of range");
  if (config.templates.length === 0) throw new TypeError("templates must be a non-empty array");
  return config;
}
