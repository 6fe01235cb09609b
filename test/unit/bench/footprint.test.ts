// Pure parts of the footprint measurements and of the issue-7 checks table: /proc and Prometheus
// parsing, request body sizes, the two-size ledger-growth fit, the verdicts (a memory figure from
// fewer records than the target is never judged), bundle ÷ built-in ratios, and what --quick keeps.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  bundleChecks,
  type FootprintResult,
  fitGrowth,
  GIB,
  growthCheck,
  meanBodyBytes,
  memoryCheck,
  parseGauges,
  parseProcStatus,
} from "../../../bench/footprint-calc.ts";
import { proposalOutcome } from "../../../bench/governed-app.ts";
import type { LoadResult } from "../../../bench/load-config.ts";
import { primaryUrlOf } from "../../../bench/node-api.ts";
import { renderMarkdown } from "../../../bench/report-markdown.ts";
import { type PointRecord, summarise } from "../../../bench/summary.ts";
import { plannedWorkloads, WORKLOADS, type Workload } from "../../../bench/workloads.ts";

test("/proc status: VmRSS and VmHWM in bytes; a missing field is an error", () => {
  const text = "Name:\tnode\nVmPeak:\t 2000 kB\nVmHWM:\t  300000 kB\nVmRSS:\t  250000 kB\nThreads:\t7\n";
  assert.deepEqual(parseProcStatus(text), { rssBytes: 250_000 * 1024, peakRssBytes: 300_000 * 1024 });
  assert.throws(() => parseProcStatus("Name:\tkthreadd\n"), /no VmRSS/);
});

test("Prometheus text: unlabelled samples only, comments and labelled series skipped", () => {
  const text = [
    "# HELP coterie_ledger_bytes Bytes in ledger chunk files, including pending.",
    "# TYPE coterie_ledger_bytes gauge",
    "coterie_ledger_bytes 141776",
    'coterie_requests_total{route="/x",status="200"} 5',
    "coterie_commit_seqno 11",
    "garbage line here",
  ].join("\n");
  const g = parseGauges(text);
  assert.equal(g.get("coterie_ledger_bytes"), 141_776);
  assert.equal(g.get("coterie_commit_seqno"), 11);
  assert.equal(g.size, 2);
});

test("mean body bytes counts the digits of every id substituted", () => {
  assert.equal(meanBodyBytes('{"id":{id}}', 0, 10), 7 + 1);
  assert.equal(meanBodyBytes('{"id":{id}}', 5, 10), 7 + (5 * 1 + 5 * 2) / 10);
  assert.equal(meanBodyBytes("{id}-{id}", 100, 1), 7);
  assert.equal(meanBodyBytes("fixed", 0, 3), 5);
  assert.throws(() => meanBodyBytes("x", 0, 0), RangeError);
});

test("ledger growth: the line through two payload sizes gives slope and fixed overhead", () => {
  // 100 B payload -> 300 B per write, 1100 B -> 1300 B: slope 1, fixed 200 B.
  const fit = fitGrowth(
    { payloadBytes: 100, writes: 10, ledgerBytes: 3000, seqnos: 11 },
    { payloadBytes: 1100, writes: 20, ledgerBytes: 26_000, seqnos: 21 },
  );
  assert.equal(fit.slope, 1);
  assert.equal(fit.fixedBytes, 200);
  assert.deepEqual(
    fit.samples.map((s) => [s.bytesPerWrite, s.ratio, s.seqnosPerWrite]),
    [
      [300, 3, 1.1],
      [1300, 1300 / 1100, 1.05],
    ],
  );
  assert.throws(
    () =>
      fitGrowth(
        { payloadBytes: 1, writes: 1, ledgerBytes: 1, seqnos: 1 },
        { payloadBytes: 1, writes: 1, ledgerBytes: 2, seqnos: 1 },
      ),
    RangeError,
  );
});

function footprint(extra: Partial<FootprintResult>): FootprintResult {
  return {
    recordsPlanned: 1_000_000,
    recordsWritten: 1_000_000,
    fillMs: 400_000,
    rssBytes: 700 * 2 ** 20,
    peakRssBytes: 800 * 2 ** 20,
    groupRssBytes: 700 * 2 ** 20,
    series: [],
    restart: { peakRssBytes: 600 * 2 ** 20, rssBytes: 500 * 2 ** 20, startMs: 9_000 },
    growth: null,
    problems: [],
    ...extra,
  };
}

test("memory verdict: judged on the peak, and only with the target's million records", () => {
  assert.equal(memoryCheck(footprint({})).verdict, "met");
  assert.match(
    memoryCheck(footprint({})).value,
    /^800 MiB \/ 700 MiB \(written in 400 s, 2500\/s\); restarted: 600 MiB peak, listening after 9\.0 s$/,
  );
  assert.equal(memoryCheck(footprint({ peakRssBytes: GIB + 1 })).verdict, "not met");
  // A restart from the data directory is part of holding the records.
  const restart = { peakRssBytes: GIB, rssBytes: 700 * 2 ** 20, startMs: 12_000 };
  assert.equal(memoryCheck(footprint({ restart })).verdict, "not met");
  const unmeasured = memoryCheck(footprint({ restart: null, problems: ["restart: exited"] }));
  assert.equal(unmeasured.verdict, "not judged: the restart was not measured (restart: exited)");
  assert.match(unmeasured.value, /; restart not measured$/);
  const few = memoryCheck(footprint({ recordsWritten: 20_000, peakRssBytes: 10 }));
  assert.match(few.verdict, /^not judged: 20,000 records, not 1,000,000/);
  // Over the limit before the million: missed, since the fill to a million passes through it.
  assert.equal(memoryCheck(footprint({ recordsWritten: 300_000, peakRssBytes: GIB })).verdict, "not met");
  const none = memoryCheck(footprint({ rssBytes: null, peakRssBytes: null, problems: ["no pid"] }));
  assert.equal(none.verdict, "not measured: no pid");
});

test("growth verdict: slope against 2", () => {
  const g = (slope: number) => ({
    samples: [
      { payloadBytes: 67, bytesPerWrite: 226, ratio: 3.37, seqnosPerWrite: 1 },
      { payloadBytes: 1019, bytesPerWrite: 1178, ratio: 1.16, seqnosPerWrite: 1 },
    ],
    slope,
    fixedBytes: 159,
  });
  const met = growthCheck(footprint({ growth: g(1) }));
  assert.equal(met.verdict, "met");
  assert.match(
    met.value,
    /67 B → 226 B \(3\.37×\), 1019 B → 1178 B \(1\.16×\); slope 1\.00, fixed 159 B\/write/,
  );
  assert.equal(growthCheck(footprint({ growth: g(2.01) })).verdict, "not met");
  assert.match(growthCheck(footprint({ problems: ["x"] })).verdict, /^not measured: x/);
});

const ok = (throughputPerSec: number): LoadResult => ({
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
  latencyUs: { p50: 1, p90: 1, p99: 1, p999: 1, max: 1, mean: 1 },
  histogram: { counts: [], total: 0, minValue: 0, maxValue: 0, sum: 0 },
});

test("bundle rows are divided by the built-in row of the same run, and shown in both tables", () => {
  const workloads = [
    { name: "b write", target: "b" },
    { name: "g write", target: "g", compare: { builtin: "b write" } },
  ] as unknown as Workload[];
  const p = (workload: string, t: number): PointRecord => ({
    workload,
    target: "x",
    point: "closed",
    repeat: 0,
    result: ok(t),
  });
  const rows = summarise([p("b write", 1000), p("g write", 600)], workloads);
  assert.equal(rows[1]?.ratioBuiltin, 0.6);
  assert.equal(rows[0]?.ratioBuiltin, null);
  const checks = bundleChecks(rows);
  assert.equal(checks.length, 1);
  assert.match(checks[0]?.value ?? "", /^60% \(600\/s\)$/);
  const md = renderMarkdown(
    { startedAt: "T", machine: "M", mode: "quick", repeats: 1, targets: {} },
    rows,
    checks,
  );
  assert.match(md, /\| g write \| closed \|.*\| 60% \| {2}\| — \| {2}\|$/m);
  assert.match(md, /### Targets measured directly/);
  assert.match(md, /\| g write ÷ the built-in endpoint .* \| 60% \(600\/s\) \| none stated/);
});

test("respond-on-commit rows are divided by the floor of the same run", () => {
  const workloads = [
    { name: "f write", target: "floor-3" },
    { name: "c write", target: "coterie-3", compare: { floor: "f write" } },
  ] as unknown as Workload[];
  const p = (workload: string, point: string, t: number): PointRecord => ({
    workload,
    target: "x",
    point,
    repeat: 0,
    result: ok(t),
  });
  const rows = summarise(
    [p("f write", "closed", 20_000), p("c write", "closed", 3000), p("c write", "open 25%", 750)],
    workloads,
  );
  assert.deepEqual(
    rows.map((r) => r.ratioFloor),
    [null, 0.15, null],
  );
  const md = renderMarkdown({ startedAt: "T", machine: "M", mode: "quick", repeats: 1, targets: {} }, rows);
  assert.match(md, /\| ÷ built-in \| ÷ floor \| steal % \|/);
  assert.match(md, /\| c write \| closed \|.*\| {2}\| 15% \| — \| {2}\|$/m);
});

test("--quick keeps only the marked points; 5 nodes run in the full run only", () => {
  const full = plannedWorkloads(WORKLOADS, false, null);
  const quick = plannedWorkloads(WORKLOADS, true, null);
  assert.equal(full.length, WORKLOADS.length);
  assert.ok(full.some((w) => w.target === "coterie-5"));
  assert.ok(!quick.some((w) => w.target === "coterie-5"));
  assert.ok(quick.some((w) => w.target === "coterie-1-bundle"));
  const open = quick.filter((w) => w.openLoop).map((w) => w.name);
  assert.deepEqual(open, [
    "ceiling",
    "coterie-3 write, wait for commit",
    "coterie-3-p256 write, wait for commit",
  ]);
  assert.deepEqual(
    plannedWorkloads(WORKLOADS, false, ["etcd"]).map((w) => w.name),
    ["etcd put", "etcd range", "etcd mixed 50/50"],
  );
  // Every bundle workload names a built-in workload that exists, every floor comparison a floor.
  for (const w of WORKLOADS.filter((x) => x.compare?.builtin !== undefined))
    assert.ok(
      WORKLOADS.some((x) => x.name === w.compare?.builtin),
      w.name,
    );
  const floors = WORKLOADS.filter((x) => x.compare?.floor !== undefined);
  assert.deepEqual(
    floors.map((w) => [w.name, w.compare?.floor]),
    [
      ["coterie-1 write, wait for commit", "floor-1 write, committed"],
      ["coterie-3 write, wait for commit", "floor-3 write, committed"],
      ["coterie-3-p256 write, wait for commit", "floor-3 write, committed"],
    ],
  );
  for (const w of floors)
    assert.ok(WORKLOADS.some((x) => x.name === w.compare?.floor && x.target.startsWith("floor-")));
});

test("proposal outcome is read from coterie gov --json output", () => {
  assert.deepEqual(proposalOutcome('{"proposal_id":"ab","state":"Accepted","actions":[]}'), {
    proposalId: "ab",
    state: "Accepted",
  });
  assert.throws(() => proposalOutcome('{"state":"Open"}'), /no proposal_id/);
});

test("the primary's client URL is read from /node/network", () => {
  const network = (nodes: unknown[]) => JSON.stringify({ current_view: 2, primary_id: "b", nodes });
  assert.equal(
    primaryUrlOf(
      network([
        { node_id: "a", primary: false, rpc_address: "127.0.0.1:24140" },
        { node_id: "b", primary: true, rpc_address: "127.0.0.1:24141" },
      ]),
    ),
    "https://127.0.0.1:24141",
  );
  assert.equal(primaryUrlOf(network([{ node_id: "a", primary: false, rpc_address: "x:1" }])), null);
  assert.equal(primaryUrlOf(network([{ node_id: "a", primary: true, rpc_address: null }])), null);
});
