import assert from "node:assert/strict";
import { test } from "node:test";
import type { LoadResult } from "../../../bench/load-config.ts";
import { PORT_BASE_DEFAULT, parseOptions } from "../../../bench/options.ts";
import { formatNumber, renderMarkdown } from "../../../bench/report-markdown.ts";
import { chartSeries, escapeXml, niceCeiling, renderSvg } from "../../../bench/report-svg.ts";
import { median, type PointRecord, summarise } from "../../../bench/summary.ts";
import type { Workload } from "../../../bench/workloads.ts";

function result(throughputPerSec: number, p50Us: number, extra: Partial<LoadResult> = {}): LoadResult {
  return {
    ok: true,
    mode: "closed",
    ratePerSec: null,
    connections: 1,
    pipelining: 1,
    measuredMs: 1000,
    sent: 1,
    completedOk: 1,
    throughputPerSec,
    errors: {},
    latencyUs: { p50: p50Us, p90: p50Us * 2, p99: p50Us * 4, p999: p50Us * 8, max: p50Us * 10, mean: p50Us },
    histogram: { counts: [], total: 0, minValue: 0, maxValue: 0, sum: 0 },
    ...extra,
  };
}
const point = (workload: string, p: string, repeat: number, r: LoadResult): PointRecord => ({
  workload,
  target: workload.split(" ")[0]!,
  point: p,
  repeat,
  result: r,
});
const workloads = [
  { name: "ceiling", target: "ceiling" },
  { name: "etcd put", target: "etcd" },
  { name: "coterie-1 write", target: "coterie-1", compare: { ceiling: "ceiling", etcd: "etcd put" } },
] as unknown as Workload[];

test("median of odd and even lists", () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.ok(Number.isNaN(median([])));
});

test("summary takes medians over repeats, sums errors, and divides closed loop by the baselines", () => {
  const points = [
    { ...point("ceiling", "closed", 0, result(40_000, 1000)), serverCpuUsPerResponse: 30, stealPct: 4 },
    { ...point("ceiling", "closed", 1, result(30_000, 3000)), serverCpuUsPerResponse: 20, stealPct: 1 },
    { ...point("ceiling", "closed", 2, result(35_000, 2000)), stealPct: null },
    point("etcd put", "closed", 0, result(7000, 20_000)),
    point("coterie-1 write", "closed", 0, result(28_000, 5000, { errors: { "503": 2 } })),
    point("coterie-1 write", "closed", 1, result(0, 0, { ok: false, failure: "overloaded" })),
    point("coterie-1 write", "open 25%", 0, result(7000, 500, { ratePerSec: 7000, mode: "open" })),
  ];
  const rows = summarise(points, workloads);
  assert.deepEqual(
    rows.map((r) => `${r.workload}/${r.point}`),
    ["ceiling/closed", "etcd put/closed", "coterie-1 write/closed", "coterie-1 write/open 25%"],
  );
  const [ceiling, , ours, open] = rows;
  assert.equal(ceiling!.throughputPerSec, 35_000);
  assert.equal(ceiling!.latencyMs.p50, 2);
  assert.equal(ceiling!.serverCpuUsPerResponse, 25); // median of the repeats that measured it
  assert.equal(ceiling!.stealPct, 2.5); // median of the repeats that measured it, failed or not
  assert.ok(Number.isNaN(ours!.stealPct)); // never measured
  assert.equal(ours!.throughputPerSec, 28_000); // the failed repeat is not a zero in the median
  assert.equal(ours!.okRepeats, 1);
  assert.deepEqual(ours!.failures, ["overloaded"]);
  assert.deepEqual(ours!.errors, { "503": 2 });
  assert.equal(ours!.ratioCeiling, 0.8);
  assert.equal(ours!.ratioEtcd, 4);
  assert.equal(ours!.ratioCeilingCpu, null); // no CPU figure for this row
  assert.equal(open!.ratioCeiling, null);
  assert.equal(open!.offeredPerSec, 7000);
});

test("markdown table has one row per point with ratios and errors", () => {
  const rows = summarise(
    [
      { ...point("ceiling", "closed", 0, result(40_000, 1500)), serverCpuUsPerResponse: 25 },
      {
        ...point("coterie-1 write", "closed", 0, result(10_000, 800, { errors: { "500": 3 } })),
        serverCpuUsPerResponse: 100,
        stealPct: 12.34,
      },
      point(
        "coterie-1 write",
        "open 25%",
        0,
        result(2500, 3000, {
          mode: "open",
          ratePerSec: 2500,
          dispatchLagUs: { p50: 450, p90: 900, p99: 1000, p999: 1100, max: 1200, mean: 500 },
        }),
      ),
    ],
    workloads,
  );
  const md = renderMarkdown(
    {
      startedAt: "T",
      machine: "M",
      mode: "quick",
      repeats: 1,
      targets: { "coterie-1": "not available (x)" },
    },
    rows,
  );
  assert.match(md, /- \*\*coterie-1\*\*: not available \(x\)/);
  assert.match(
    md,
    /\| ceiling \| closed \| — \| 40000 \| 1\.50 \| 3\.00 \| 6\.00 \| 12\.0 \| 15\.0 \| — \| 25\.0 \| {2}\| {2}\| {2}\| {2}\| {2}\| — \| {2}\|/,
  );
  assert.match(
    md,
    /\| coterie-1 write \| closed \| — \| 10000 \| 0\.800 .* \| 100 \| 25% \| 25% \| {2}\| {2}\| {2}\| 12\.3 \| 500×3 \|/,
  );
  // The generator's own lag, for open-loop rows only.
  assert.match(
    md,
    /\| coterie-1 write \| open 25% \| 2500 \| 2500 \| 3\.00 \| [^|]+\| [^|]+\| [^|]+\| [^|]+\| 0\.450 \|/,
  );
  assert.equal(formatNumber(null), "—");
  assert.equal(formatNumber(0.01234), "0.012");
  assert.equal(formatNumber(123.4), "123");
});

test("svg chart has a labelled series per workload with at least two points, log latency axis", () => {
  const rows = summarise(
    [
      point("ceiling", "closed", 0, result(40_000, 5000)),
      point("ceiling", "open 25%", 0, result(10_000, 300)),
      point("etcd put", "closed", 0, result(7000, 20_000)),
    ],
    workloads,
  );
  const series = chartSeries(rows);
  assert.deepEqual(
    series.map((s) => s.name),
    ["ceiling"],
  );
  assert.deepEqual(
    series[0]!.points.map((p) => p.x),
    [10_000, 40_000],
  );
  const svg = renderSvg("a < b", rows);
  assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  assert.match(svg, /a &#60; b/);
  assert.equal((svg.match(/<polyline/g) ?? []).length, 2);
  assert.match(svg, />ceiling</);
  for (const label of [">0.1<", ">1<", ">10<", ">100<"])
    assert.ok(svg.includes(label), `axis label ${label}`);
  assert.ok(svg.trim().endsWith("</svg>"));
  assert.equal(niceCeiling(42_000), 50_000);
  assert.equal(niceCeiling(100), 100);
  assert.equal(niceCeiling(2382), 2500);
  assert.equal(escapeXml(`"&'`), "&#34;&#38;&#39;");
});

test("options: defaults, quick, and refusal of nonsense", () => {
  assert.deepEqual(parseOptions([]), {
    quick: false,
    repeats: 3,
    only: null,
    portBase: PORT_BASE_DEFAULT,
    records: null,
    pacingGapUs: null,
  });
  assert.deepEqual(parseOptions(["--quick", "--only", "etcd"]), {
    quick: true,
    repeats: 1,
    only: "etcd",
    portBase: PORT_BASE_DEFAULT,
    records: null,
    pacingGapUs: null,
  });
  assert.equal(parseOptions(["--pacing-gap-us", "0"]).pacingGapUs, 0);
  assert.throws(() => parseOptions(["--pacing-gap-us", "1001"]), RangeError);
  assert.throws(() => parseOptions(["--pacing-gap-us", "-1"]), RangeError);
  assert.equal(parseOptions(["--repeat", "5"]).repeats, 5);
  assert.equal(parseOptions(["--records", "200000"]).records, 200_000);
  assert.throws(() => parseOptions(["--records", "10"]), RangeError);
  assert.throws(() => parseOptions(["--repeat", "0.5"]), RangeError);
  assert.throws(() => parseOptions(["--port-base", "80"]), RangeError);
  assert.throws(() => parseOptions(["--bogus"]), TypeError);
  assert.throws(() => parseOptions(["--only"]), TypeError);
});
