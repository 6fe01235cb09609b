import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { test } from "node:test";
import { groupCpuMs, machineTicks, parseCpuLine, parseProcStat, stealPercent } from "../../../bench/cpu.ts";

test("parses pid, process group and utime+stime, even with ') ' in the command name", () => {
  const line = "4242 (we) ird (name)) S 1 4200 4200 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 1 0 123 0 0";
  assert.deepEqual(parseProcStat(line), { pid: 4242, processGroup: 4200, cpuTicks: 325 });
  assert.throws(() => parseProcStat("garbage"), /malformed/);
  assert.throws(() => parseProcStat("12 (x) S 1 zz"), /malformed/);
});

/**
 * A child in a process group of its own (`detached`), told on stdin to burn CPU: it reports "ready"
 * once started, burns 100 ms of CPU (not of wall time: the machine may be shared; at most 10 s of
 * wall time) when it reads a line, then reports "burnt" and waits to be killed.
 */
const BURNER = `
process.stdout.write("ready\\n");
process.stdin.once("data", () => {
  const start = process.cpuUsage();
  const wallEnd = Date.now() + 10_000;
  let x = 0;
  while (process.cpuUsage(start).user < 100_000 && Date.now() < wallEnd) x += Math.sqrt(x + 1);
  process.stdout.write(x > 0 ? "burnt\\n" : "odd\\n");
  setInterval(() => {}, 1000);
});
`;

function nextLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    child.stdout?.once("data", (d: Buffer) => resolve(d.toString("utf8").trim()));
    child.once("exit", (code) => reject(new Error(`burner exited with ${code}`)));
  });
}

// The group measured is the child's alone: measuring the test process's own group once failed in
// CI, when another process of the test runner's group exited in between and took its CPU out of
// the sum (it "grew" by -2,620 ms).
test("the CPU of a process group grows when a process in it burns CPU", {
  skip: process.platform !== "linux" && "needs /proc",
}, async () => {
  const child = spawn(process.execPath, ["-e", BURNER], {
    detached: true,
    stdio: ["pipe", "pipe", "inherit"],
  });
  try {
    assert.equal(await nextLine(child), "ready");
    const group = child.pid as number;
    const before = groupCpuMs([group]) ?? Number.NaN;
    child.stdin?.write("go\n");
    assert.equal(await nextLine(child), "burnt");
    const after = groupCpuMs([group]) ?? Number.NaN;
    assert.ok(after - before >= 80, `grew by ${after - before} ms`);
    assert.equal(groupCpuMs([]), 0);
  } finally {
    child.kill("SIGKILL");
  }
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
