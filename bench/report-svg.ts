// Latency versus throughput as a hand-written SVG: one colour per workload, p50 dashed and p99
// solid, through its open-loop points and its closed-loop (saturation) point. Latency is on a log
// scale because the interesting part — the knee where queueing starts — spans decades.
import type { SummaryRow } from "./summary.ts";

const WIDTH = 900;
const HEIGHT = 500;
const PLOT = { left: 70, right: 640, top: 40, bottom: 440 };
const COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf", "#e377c2"];

export function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A "nice" upper bound (1, 2, 2.5 or 5 times a power of ten) at or above `value`. */
export function niceCeiling(value: number): number {
  if (!(value > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * power >= value) return m * power;
  return 10 * power;
}

type Series = { name: string; points: Array<{ x: number; p50: number; p99: number }> };

/** Groups rows into series: workloads with at least two usable points (open loop ones). */
export function chartSeries(rows: readonly SummaryRow[]): Series[] {
  const byWorkload = new Map<string, Series>();
  for (const r of rows) {
    if (!(r.throughputPerSec > 0 && r.latencyMs.p50 > 0 && r.latencyMs.p99 > 0)) continue;
    const s = byWorkload.get(r.workload) ?? { name: r.workload, points: [] };
    s.points.push({ x: r.throughputPerSec, p50: r.latencyMs.p50, p99: r.latencyMs.p99 });
    byWorkload.set(r.workload, s);
  }
  const series = [...byWorkload.values()].filter((s) => s.points.length >= 2);
  for (const s of series) s.points.sort((a, b) => a.x - b.x);
  return series;
}

export function renderSvg(title: string, rows: readonly SummaryRow[]): string {
  const series = chartSeries(rows);
  const all = series.flatMap((s) => s.points);
  const xMax = niceCeiling(Math.max(1, ...all.map((p) => p.x)) * 1.05);
  const yMinExp = Math.floor(Math.log10(Math.min(1, ...all.map((p) => p.p50))));
  const yMaxExp = Math.max(yMinExp + 1, Math.ceil(Math.log10(Math.max(1, ...all.map((p) => p.p99)))));
  const sx = (x: number) => PLOT.left + (x / xMax) * (PLOT.right - PLOT.left);
  const sy = (ms: number) =>
    PLOT.bottom - ((Math.log10(ms) - yMinExp) / (yMaxExp - yMinExp)) * (PLOT.bottom - PLOT.top);
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>`,
    `<text x="${PLOT.left}" y="24" font-size="15">${escapeXml(title)}</text>`,
    ...axes(xMax, yMinExp, yMaxExp, sx, sy),
  ];
  series.forEach((s, i) => {
    const colour = COLOURS[i % COLOURS.length]!;
    for (const [key, dash] of [
      ["p50", "6 4"],
      ["p99", ""],
    ] as const) {
      const pts = s.points.map((p) => `${sx(p.x).toFixed(1)},${sy(p[key]).toFixed(1)}`).join(" ");
      const dashAttr = dash === "" ? "" : ` stroke-dasharray="${dash}"`;
      out.push(`<polyline points="${pts}" fill="none" stroke="${colour}" stroke-width="2"${dashAttr}/>`);
      for (const p of s.points)
        out.push(`<circle cx="${sx(p.x).toFixed(1)}" cy="${sy(p[key]).toFixed(1)}" r="3" fill="${colour}"/>`);
    }
    const ly = PLOT.top + 10 + i * 20;
    out.push(`<line x1="660" y1="${ly}" x2="690" y2="${ly}" stroke="${colour}" stroke-width="2"/>`);
    out.push(`<text x="696" y="${ly + 4}">${escapeXml(s.name)}</text>`);
  });
  const ly = PLOT.top + 20 + series.length * 20;
  out.push(`<text x="660" y="${ly}">solid: p99, dashed: p50</text>`);
  out.push(`<text x="660" y="${ly + 16}">points: open loop at ¼ and ¾, closed loop</text>`);
  out.push("</svg>", "");
  return out.join("\n");
}

function axes(
  xMax: number,
  yMinExp: number,
  yMaxExp: number,
  sx: (x: number) => number,
  sy: (y: number) => number,
) {
  const out = [
    `<line x1="${PLOT.left}" y1="${PLOT.bottom}" x2="${PLOT.right}" y2="${PLOT.bottom}" stroke="black"/>`,
    `<line x1="${PLOT.left}" y1="${PLOT.top}" x2="${PLOT.left}" y2="${PLOT.bottom}" stroke="black"/>`,
    `<text x="${(PLOT.left + PLOT.right) / 2}" y="${PLOT.bottom + 40}" text-anchor="middle">throughput (responses/s)</text>`,
    `<text transform="translate(18 ${(PLOT.top + PLOT.bottom) / 2}) rotate(-90)" text-anchor="middle">latency (ms, log scale)</text>`,
  ];
  for (let i = 0; i <= 5; i++) {
    const x = (xMax * i) / 5;
    out.push(
      `<line x1="${sx(x)}" y1="${PLOT.bottom}" x2="${sx(x)}" y2="${PLOT.bottom + 5}" stroke="black"/>`,
    );
    out.push(`<text x="${sx(x)}" y="${PLOT.bottom + 20}" text-anchor="middle">${Math.round(x)}</text>`);
  }
  for (let e = yMinExp; e <= yMaxExp; e++) {
    const y = sy(10 ** e).toFixed(1);
    out.push(`<line x1="${PLOT.left}" y1="${y}" x2="${PLOT.right}" y2="${y}" stroke="#ddd"/>`);
    out.push(
      `<text x="${PLOT.left - 8}" y="${y}" text-anchor="end" dominant-baseline="middle">${10 ** e}</text>`,
    );
  }
  return out;
}
