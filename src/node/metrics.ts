/** Prometheus text-format metrics: request counts by route and status, latency histograms, ledger progress. */

const bucketsMs = [0.5, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000];
/** Bounds label cardinality: routes are endpoint templates, never raw paths. */
const routesMax = 512;

/**
 * `buckets[i]`: requests whose duration fell in (bucketsMs[i-1], bucketsMs[i]], so `observe`, on
 * every request, adds one; `render` sums them into Prometheus's cumulative `le` buckets.
 */
type RouteStats = { counts: Map<number, number>; buckets: number[]; sumMs: number; count: number };

export class Metrics {
  private readonly routes = new Map<string, RouteStats>();
  private readonly gauges: Array<{ name: string; help: string; read: () => number }> = [];
  private readonly counters: Array<{
    name: string;
    help: string;
    label: string;
    read: () => ReadonlyMap<string, number>;
  }> = [];

  gauge(name: string, help: string, read: () => number): void {
    this.gauges.push({ name, help, read });
  }

  /** A counter family with one label, e.g. consensus messages by type; `read` gives value per label. */
  counter(name: string, help: string, label: string, read: () => ReadonlyMap<string, number>): void {
    this.counters.push({ name, help, label, read });
  }

  observe(route: string, status: number, durationMs: number): void {
    let r = this.routes.get(route);
    if (r === undefined) {
      if (this.routes.size >= routesMax) return;
      r = { counts: new Map(), buckets: bucketsMs.map(() => 0), sumMs: 0, count: 0 };
      this.routes.set(route, r);
    }
    r.counts.set(status, (r.counts.get(status) ?? 0) + 1);
    let i = 0;
    while (i < bucketsMs.length && durationMs > (bucketsMs[i] as number)) i++;
    if (i < bucketsMs.length) r.buckets[i] = (r.buckets[i] as number) + 1;
    r.sumMs += durationMs;
    r.count++;
  }

  render(): string {
    const out: string[] = [
      "# HELP coterie_requests_total Requests answered, by endpoint template and HTTP status.",
      "# TYPE coterie_requests_total counter",
    ];
    for (const [route, r] of this.routes) {
      for (const [status, n] of r.counts)
        out.push(`coterie_requests_total{route="${route}",status="${status}"} ${n}`);
    }
    out.push(
      "# HELP coterie_request_duration_ms Time from request start to response, by endpoint template.",
      "# TYPE coterie_request_duration_ms histogram",
    );
    for (const [route, r] of this.routes) {
      let cumulative = 0;
      for (let i = 0; i < bucketsMs.length; i++) {
        cumulative += r.buckets[i] as number;
        out.push(`coterie_request_duration_ms_bucket{route="${route}",le="${bucketsMs[i]}"} ${cumulative}`);
      }
      out.push(`coterie_request_duration_ms_bucket{route="${route}",le="+Inf"} ${r.count}`);
      out.push(`coterie_request_duration_ms_sum{route="${route}"} ${r.sumMs}`);
      out.push(`coterie_request_duration_ms_count{route="${route}"} ${r.count}`);
    }
    for (const g of this.gauges)
      out.push(`# HELP ${g.name} ${g.help}`, `# TYPE ${g.name} gauge`, `${g.name} ${g.read()}`);
    for (const c of this.counters) {
      out.push(`# HELP ${c.name} ${c.help}`, `# TYPE ${c.name} counter`);
      for (const [value, n] of c.read()) out.push(`${c.name}{${c.label}="${value}"} ${n}`);
    }
    return `${out.join("\n")}\n`;
  }
}
