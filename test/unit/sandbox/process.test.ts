// The process-isolated sandbox (`isolation: "process"`): the same contract as in-process, plus
// survival of the V8 aborts that isolated-vm cannot turn into errors (isolated-vm#527).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { test } from "node:test";
import { createSandbox, type Sandbox } from "../../../src/sandbox/index.ts";
import { CoterieError } from "../../../src/util/errors.ts";
import { expectCode, MiB } from "./helpers.ts";

const source = `
export function add(a, b) { return a + b; }
export function viaHost(k) { return host.get(k) + 1; }
export function hostThrows() { return host.fail(); }
export function hostThrowsCaught() { try { host.fail(); } catch (e) { return e.code + ": " + e.message; } }
export function boom() { throw new RangeError("guest says no"); }
export function spin() { for (;;) {} }
export function mapBomb() { const m = new Map(); for (let i = 0; ; i++) m.set(i, [i]); }
export function objectBomb() { const o = {}; for (let i = 0; ; i++) o["k" + i] = i; }
export function sized(n) { return "a".repeat(n); }
export function now() { return Date.now(); }
`;

function processSandbox(limits = {}): Sandbox {
  return createSandbox({
    isolation: "process",
    limits: { memoryBytesMax: 16 * MiB, callTimeoutMs: 2000, ...limits },
  });
}

/** Live (not zombie) children of this test process but `ps` itself: the sandbox children. */
function childPids(): number[] {
  const out = execFileSync("ps", ["-o", "pid=,stat=,comm=", "--ppid", String(process.pid)], {
    encoding: "utf8",
  });
  const rows = out.split("\n").map((line) => line.trim().split(/\s+/));
  return rows
    .filter(([pid, stat, comm]) => pid && comm !== "ps" && !stat?.startsWith("Z"))
    .map(([pid]) => Number(pid));
}

test("process isolation: load, exports, call, host functions and their errors", () => {
  const sandbox = processSandbox();
  const m = sandbox.loadModule(source, "app.js");
  assert.equal(m.exports.add, "function");
  assert.equal(m.call("add", [20, 22]), 42);
  assert.equal(m.call("viaHost", ["k"], { get: () => 41 }), 42);
  const original = new CoterieError("COTERIE_ERR_KV_LIMIT", "too big");
  const fail = () => {
    throw original;
  };
  assert.equal(m.call("hostThrowsCaught", [], { fail }), "COTERIE_ERR_KV_LIMIT: too big");
  assert.throws(
    () => m.call("hostThrows", [], { fail }),
    (e) => e === original,
  );
  const bug = new Error("host bug");
  assert.throws(
    () =>
      m.call("hostThrowsCaught", [], {
        fail: () => {
          throw bug;
        },
      }),
    (e) => e === bug,
  );
  sandbox.dispose();
});

test("process isolation: the same error codes as in-process", () => {
  const sandbox = processSandbox({ resultBytesMax: 100, argsBytesMax: 100 });
  expectCode(() => sandbox.loadModule("export const x = ;", "bad.js"), "COTERIE_ERR_SANDBOX_SYNTAX");
  const huge = `export const s = "${"x".repeat(3 * MiB)}";`;
  expectCode(() => sandbox.loadModule(huge, "huge.js"), "COTERIE_ERR_SANDBOX_INPUT_TOO_LARGE");
  expectCode(
    () => sandbox.loadModule(source, "c.js", { requiredFunctions: ["validate"] }),
    "COTERIE_ERR_SANDBOX_MISSING_EXPORT",
  );
  const m = sandbox.loadModule(source, "app.js");
  const e = expectCode(() => m.call("boom", []), "COTERIE_ERR_SANDBOX_THROWN");
  assert.match(e.message, /RangeError: guest says no/);
  expectCode(() => m.call("absent", []), "COTERIE_ERR_SANDBOX_MISSING_EXPORT");
  expectCode(() => m.call("sized", [200]), "COTERIE_ERR_SANDBOX_RESULT_TOO_LARGE");
  expectCode(() => m.call("add", ["x".repeat(200), 1]), "COTERIE_ERR_SANDBOX_INPUT_TOO_LARGE");
  expectCode(() => m.call("now", []), "COTERIE_ERR_SANDBOX_THROWN");
  expectCode(() => m.call("spin", []), "COTERIE_ERR_SANDBOX_TIMEOUT");
  assert.equal(m.call("add", [1, 2]), 3);
  sandbox.dispose();
});

for (const bomb of ["mapBomb", "objectBomb"]) {
  test(`process isolation: a ${bomb} that aborts V8 kills only the child; the module serves again`, () => {
    const sandbox = processSandbox();
    const m = sandbox.loadModule(source, "app.js");
    expectCode(() => m.call(bomb, []), "COTERIE_ERR_SANDBOX_MEMORY");
    assert.equal(m.call("add", [1, 2]), 3, "reloaded in a new child");
    assert.equal(sandbox.stats().isolatesCreated, 2);
    sandbox.dispose();
  });
}

test("process isolation: the parent's own deadline kills a child that stops answering", () => {
  const sandbox = processSandbox({ callTimeoutMs: 100 });
  const m = sandbox.loadModule(source, "app.js");
  assert.equal(m.call("add", [1, 1]), 2);
  const pids = childPids();
  assert.ok(pids.length >= 1, "the sandbox runs a child process");
  try {
    for (const pid of pids) process.kill(pid, "SIGSTOP"); // a wedged child: no reply ever comes
    const started = performance.now();
    expectCode(() => m.call("add", [1, 2]), "COTERIE_ERR_SANDBOX_TIMEOUT");
    assert.ok(performance.now() - started < 5000);
    assert.equal(m.call("add", [1, 2]), 3);
  } finally {
    sandbox.dispose(); // SIGKILL ends even a stopped child
  }
});

test("process isolation: unloading frees the child's slot; dispose ends the child", async () => {
  const sandbox = processSandbox({ modulesMax: 2 });
  for (let i = 0; i < 6; i++) {
    const m = sandbox.loadModule(source, `m${i}.js`);
    assert.equal(m.call("add", [i, 1]), i + 1);
    m.dispose();
    expectCode(() => m.call("add", [1, 1]), "COTERIE_ERR_SANDBOX_DISPOSED");
  }
  assert.ok(childPids().length >= 1);
  sandbox.dispose();
  const deadline = performance.now() + 3000;
  while (childPids().length > 0 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(childPids(), [], "no child left behind");
  expectCode(() => sandbox.loadModule(source, "late.js"), "COTERIE_ERR_SANDBOX_DISPOSED");
});
