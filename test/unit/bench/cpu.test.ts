import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { groupCpuMs, machineTicks, parseCpuLine, parseProcStat, stealPercent } from "../../../bench/cpu.ts";

test("parses pid, process group and utime+stime, even with ') ' in the command name", () => {
  const line = "4242 (we) ird (name)) S 1 4200 4200 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 1 0 123 0 0";
  assert.deepEqual(parseProcStat(line), { pid: 4242, processGroup: 4200, cpuTicks: 325 });
  assert.throws(() => parseProcStat("garbage"), /malformed/);
  assert.throws(() => parseProcStat("12 (x) S 1 zz"), /malformed/);
});

test("the CPU of this process's own group grows when it burns CPU", {
  skip: process.platform !== "linux" && "needs /proc",
}, () => {
  const group = parseProcStat(readFileSync(`/proc/${process.pid}/stat`, "utf8")).processGroup;
  const before = groupCpuMs([group]) ?? Number.NaN;
  // Burn 100 ms of CPU (not of wall time: the machine may be shared), at most 10 s of wall time.
  const start = process.cpuUsage();
  const wallEnd = Date.now() + 10_000;
  let x = 0;
  while (process.cpuUsage(start).user < 100_000 && Date.now() < wallEnd) x += Math.sqrt(x + 1);
  const after = groupCpuMs([group]) ?? Number.NaN;
  assert.ok(after - before >= 80, `grew by ${after - before} ms (x=${x > 0})`);
  assert.equal(groupCpuMs([]), 0);
});

test("the machine's steal time: parsed from /proc/stat's cpu line, as a share of all CPU time", () => {
  const text = "cpu  100 5 50 800 10 0 5 30 7 0\ncpu0 50 2 25 400 5 0 2 15 3 0\nintr 1\n";
  // user nice system idle iowait irq softirq steal; guest (7) is inside user already.
  assert.deepEqual(parseCpuLine(text), { totalTicks: 1000, stealTicks: 30 });
  assert.throws(() => parseCpuLine("cpu0 1 2 3\n"), /malformed/);
  assert.throws(() => parseCpuLine("cpu  1 2 3 x 5 6 7 8\n"), /malformed/);
  assert.equal(stealPercent({ totalTicks: 1000, stealTicks: 30 }, { totalTicks: 1400, stealTicks: 50 }), 5);
  assert.equal(
    stealPercent({ totalTicks: 1000, stealTicks: 30 }, { totalTicks: 1000, stealTicks: 30 }),
    null,
  );
  assert.equal(stealPercent(null, { totalTicks: 1, stealTicks: 0 }), null);
});

test("this machine's /proc/stat reads, and its total only grows", {
  skip: process.platform !== "linux" && "needs /proc",
}, () => {
  const a = machineTicks();
  const b = machineTicks();
  assert.ok(a !== null && b !== null);
  assert.ok(b.totalTicks >= a.totalTicks && a.stealTicks <= a.totalTicks);
});
