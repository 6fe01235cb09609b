// The load generator's engine: closed loop (keep every connection's pipeline full for the whole
// window) or open loop (request n is due at start + n/R; latency counts from that intended time).
// A request is "measured" when its start time falls inside [warm-up end, window end); responses
// to requests started during warm-up are discarded. Sending stops at the window end; outstanding
// measured requests get `drainMs` to finish and are counted as timeouts otherwise.
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { Histogram } from "./histogram.ts";
import type { LatencySummaryUs, LoadConfig, LoadResult } from "./load-config.ts";
import { PipelinedConnection, type TlsMaterial } from "./load-connection.ts";
import { Pacer } from "./pacer.ts";
import { backlogMax, dueCount, intendedStartMs } from "./pacing.ts";
import { RequestMix } from "./request-template.ts";

const CONNECT_TIMEOUT_MS = 10_000;
const RECONNECTS_MAX = 64;
const TICK_MS = 1;

export class LoadGenerator {
  private readonly config: LoadConfig;
  private readonly mixes: RequestMix[];
  private readonly connections: PipelinedConnection[] = [];
  private readonly mixOf = new Map<PipelinedConnection, RequestMix>();
  private readonly histogram = new Histogram();
  /** Open loop: µs from each measured request's intended start to its write. */
  private readonly dispatchLag = new Histogram();
  private pacer: Pacer | null = null;
  private readonly errors: Record<string, number> = {};
  private sent = 0;
  private nextConnection = 0;
  private completedOk = 0;
  private startMs = 0;
  private warmEndMs = 0;
  private endMs = 0;
  /** When sending stopped (window end, requestsMax answered, or failure). */
  private stoppedMs = 0;
  private sending = false;
  private reconnects = 0;
  private failure: string | undefined;

  constructor(config: LoadConfig) {
    this.config = config;
    this.mixes = config.targets.map((t) => new RequestMix(config.templates, new URL(t).host));
  }

  async run(): Promise<LoadResult> {
    await this.connectAll();
    this.startMs = performance.now();
    this.warmEndMs = this.startMs + this.config.warmupMs;
    this.endMs = this.warmEndMs + this.config.durationMs;
    this.sending = true;
    if (this.config.mode === "closed") for (const c of this.connections) this.fillClosed(c);
    else if (this.config.pacingGapUs! > 0) {
      this.pacer = new Pacer({
        startMs: this.startMs,
        ratePerSec: this.config.ratePerSec!,
        gapMs: this.config.pacingGapUs! / 1000,
        onDue: () => {
          if (this.sending) this.dispatchOpen();
        },
        onError: (err) => {
          this.failure = `pacer failed: ${err.message}`;
          this.sending = false;
        },
      });
    }
    try {
      await this.loopUntilDone();
    } finally {
      await this.pacer?.close();
    }
    for (const c of this.connections) c.close();
    return this.result();
  }

  private async connectAll(): Promise<void> {
    const material = this.loadTls();
    for (let i = 0; i < this.config.connections; i++) {
      const targetIndex = i % this.config.targets.length;
      const url = new URL(this.config.targets[targetIndex]!);
      const tlsMaterial = url.protocol === "https:" ? material : null;
      const conn = new PipelinedConnection(url, tlsMaterial, this.config.pipelining, {
        onResponse: (status, startMs) => this.onResponse(status, startMs),
        onDrained: (c) => this.refill(c),
        onLost: (c, reason, lost) => this.onLost(c, reason, lost),
      });
      this.mixOf.set(conn, this.mixes[targetIndex]!);
      this.connections.push(conn);
    }
    await Promise.all(this.connections.map((c) => c.connect(CONNECT_TIMEOUT_MS)));
  }

  private loadTls(): TlsMaterial | null {
    const t = this.config.tls;
    if (t === undefined) return null;
    return { ca: readFileSync(t.caFile), cert: readFileSync(t.certFile), key: readFileSync(t.keyFile) };
  }

  private isMeasured(startMs: number): boolean {
    return startMs >= this.warmEndMs && startMs < this.endMs;
  }

  private onResponse(status: number, startMs: number): void {
    if (!this.isMeasured(startMs)) return;
    if (status >= 200 && status < 300) {
      this.completedOk++;
      this.histogram.record((performance.now() - startMs) * 1000);
    } else {
      this.errors[String(status)] = (this.errors[String(status)] ?? 0) + 1;
    }
  }

  private onLost(conn: PipelinedConnection, reason: string, lostStartsMs: number[]): void {
    const measuredLost = lostStartsMs.filter((s) => this.isMeasured(s)).length;
    if (measuredLost > 0) this.errors.connection = (this.errors.connection ?? 0) + measuredLost;
    if (!this.sending) return;
    if (++this.reconnects > RECONNECTS_MAX) {
      this.failure = `too many lost connections; last: ${reason}`;
      this.sending = false;
      return;
    }
    conn.connect(CONNECT_TIMEOUT_MS).then(
      () => this.refill(conn),
      (err: Error) => (this.failure = `reconnect failed: ${err.message}`),
    );
  }

  /** Renders the next request; returns its text and bumps the counters. */
  private nextRequest(conn: PipelinedConnection): string {
    const mix = this.mixOf.get(conn)!;
    const template = mix.templates[mix.pick(Math.random())]!;
    const id = this.config.idStart + this.sent++;
    return template.render({ id, rand: Math.floor(Math.random() * this.config.randMax) });
  }

  private refill(conn: PipelinedConnection): void {
    if (!this.sending) return;
    if (this.config.mode === "closed") this.fillClosed(conn);
    else if (
      this.sent < dueCount(performance.now(), this.startMs, this.config.ratePerSec!, this.config.requestsMax)
    ) {
      this.dispatchOpen();
    }
  }

  private fillClosed(conn: PipelinedConnection): void {
    const now = performance.now();
    if (now >= this.endMs) return;
    const n = Math.min(conn.free, this.config.requestsMax - this.sent);
    if (n <= 0) return;
    let text = "";
    const starts: number[] = [];
    for (let i = 0; i < n; i++) {
      text += this.nextRequest(conn);
      starts.push(now);
    }
    conn.write(text, starts);
  }

  /** Sends every due request that has a free pipeline slot, one write per connection. */
  private dispatchOpen(): void {
    const rate = this.config.ratePerSec!;
    const now = performance.now();
    const due = dueCount(Math.min(now, this.endMs - 1e-6), this.startMs, rate, this.config.requestsMax);
    // Requests due together go out together on one connection (up to its free slots, then the
    // next), as the closed loop batches them; each dispatch starts one connection further on, so
    // light load still spreads over all connections. Spreading every request over a different
    // connection instead costs the server a read event per request, and the ¾ point of a batched
    // saturation then cannot be sustained by the bare server itself.
    const first = this.nextConnection;
    this.nextConnection = (first + 1) % this.connections.length;
    for (let k = 0; k < this.connections.length && this.sent < due; k++) {
      const conn = this.connections[(first + k) % this.connections.length]!;
      const n = Math.min(conn.free, due - this.sent);
      if (n <= 0) continue;
      let text = "";
      const starts: number[] = [];
      for (let i = 0; i < n; i++) {
        const intended = intendedStartMs(this.sent, this.startMs, rate);
        starts.push(intended);
        if (this.isMeasured(intended)) this.dispatchLag.record((now - intended) * 1000);
        text += this.nextRequest(conn);
      }
      conn.write(text, starts);
    }
    if (due - this.sent > backlogMax(rate)) {
      this.failure = `overloaded: more than ${backlogMax(rate)} requests due but unsent at ${rate}/s`;
      this.sending = false;
    }
  }

  private inFlight(): number {
    return this.connections.reduce((s, c) => s + c.inFlight, 0);
  }

  /** Ticks until the window ends (or requestsMax is answered), then drains. */
  private async loopUntilDone(): Promise<void> {
    const tick = this.config.mode === "open" ? TICK_MS : 10;
    while (this.sending) {
      await new Promise((r) => setTimeout(r, tick));
      const now = performance.now();
      if (now >= this.endMs) this.sending = false;
      else if (this.sent >= this.config.requestsMax && this.inFlight() === 0) this.sending = false;
      else if (this.config.mode === "open") this.dispatchOpen();
    }
    this.stoppedMs = Math.min(performance.now(), this.endMs);
    const drainEndMs = performance.now() + this.config.drainMs;
    while (this.inFlight() > 0 && performance.now() < drainEndMs) await new Promise((r) => setTimeout(r, 5));
  }

  private result(): LoadResult {
    const unanswered = this.connections.reduce((s, c) => s + c.inFlight, 0);
    if (unanswered > 0) this.errors.timeout = (this.errors.timeout ?? 0) + unanswered;
    // Shortened if sending stopped early (requestsMax answered, failure).
    const measuredMs = Math.max(0, this.stoppedMs - this.warmEndMs);
    const h = this.histogram;
    const summary = (x: Histogram): LatencySummaryUs => ({
      p50: x.valueAtPercentile(50),
      p90: x.valueAtPercentile(90),
      p99: x.valueAtPercentile(99),
      p999: x.valueAtPercentile(99.9),
      max: x.maxValue,
      mean: Math.round(x.mean()),
    });
    const result: LoadResult = {
      ok: this.failure === undefined,
      mode: this.config.mode,
      ratePerSec: this.config.ratePerSec ?? null,
      connections: this.config.connections,
      pipelining: this.config.pipelining,
      measuredMs,
      sent: this.sent,
      completedOk: this.completedOk,
      throughputPerSec: measuredMs > 0 ? (this.completedOk * 1000) / measuredMs : 0,
      errors: this.errors,
      latencyUs: summary(h),
      histogram: h.toJSON(),
    };
    if (this.config.mode === "open") result.dispatchLagUs = summary(this.dispatchLag);
    if (this.failure !== undefined) result.failure = this.failure;
    return result;
  }
}
