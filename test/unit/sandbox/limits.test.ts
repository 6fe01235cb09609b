import assert from "node:assert/strict";
import { test } from "node:test";
import { createSandbox, sandboxLimitsDefault, validateSandboxLimits } from "../../../src/sandbox/index.ts";
import { InvariantError } from "../../../src/util/assert.ts";
import { expectCode, MiB } from "./helpers.ts";

const source = `
let counter = 0;
export function inc() { return ++counter; }
export function add(a, b) { return a + b; }
export function spin() { for (;;) {} }
export function spinInHost() { return host.slow(); }
export function microtaskStorm() { Promise.resolve().then(function again() { Promise.resolve().then(again); }); return 1; }
export function arrayBomb() { const a = []; for (;;) a.push({ n: a.length, s: "item" + a.length }); }
export function stringBomb() { let s = "ab"; const keep = []; for (;;) { s = s + s; keep.push(s.slice(1)); } }
export function bufferBomb() { const keep = []; for (;;) keep.push(new ArrayBuffer(1 << 20)); }
export function deep(n) { return n === 0 ? 0 : 1 + deep(n - 1); }
export function recurse() { return recurse() + 1; }
export function sized(n, ch) { return ch.repeat(n); }
export function sendToHost(n) { return host.sink("x".repeat(n)); }
export function reenter() { return host.again(); }
`;

test("validateSandboxLimits fills defaults and rejects nonsense", () => {
  assert.deepEqual(validateSandboxLimits(), sandboxLimitsDefault);
  assert.equal(validateSandboxLimits({ callTimeoutMs: 5 }).callTimeoutMs, 5);
  assert.throws(() => validateSandboxLimits({ callTimeoutMs: 0 }), RangeError);
  assert.throws(() => validateSandboxLimits({ callTimeoutMs: 1.5 }), TypeError);
  assert.throws(() => validateSandboxLimits({ memoryBytesMax: 4 * MiB }), RangeError);
  assert.throws(
    () => validateSandboxLimits({ memoryBytesMax: 8 * MiB, resultBytesMax: 4 * MiB }),
    RangeError,
  );
});

test("an infinite loop is stopped at the time limit and the module serves again", () => {
  const sandbox = createSandbox({ limits: { callTimeoutMs: 50 } });
  const m = sandbox.loadModule(source, "app.js");
  const started = performance.now();
  const e = expectCode(() => m.call("spin", []), "COTERIE_ERR_SANDBOX_TIMEOUT");
  const elapsedMs = performance.now() - started;
  assert.ok(elapsedMs >= 45 && elapsedMs < 1000, `stopped after ${elapsedMs} ms`);
  assert.deepEqual(e.details, { callTimeoutMs: 50 });
  assert.equal(m.call("add", [1, 2]), 3);
  assert.equal(sandbox.stats().isolatesCreated, 2, "the isolate was recreated");
  sandbox.dispose();
});

test("time spent in host functions and in pending microtasks counts against the limit", () => {
  const sandbox = createSandbox({ limits: { callTimeoutMs: 50 } });
  const m = sandbox.loadModule(source, "app.js");
  const slow = () => {
    const until = performance.now() + 120;
    while (performance.now() < until);
    return 1;
  };
  expectCode(() => m.call("spinInHost", [], { slow }), "COTERIE_ERR_SANDBOX_TIMEOUT");
  expectCode(() => m.call("microtaskStorm", []), "COTERIE_ERR_SANDBOX_TIMEOUT");
  assert.equal(m.call("add", [2, 2]), 4);
  sandbox.dispose();
});

test("module-level state does not survive a recreated isolate (documented)", () => {
  const sandbox = createSandbox({ limits: { callTimeoutMs: 30 } });
  const m = sandbox.loadModule(source, "app.js");
  assert.equal(m.call("inc", []), 1);
  assert.equal(m.call("inc", []), 2);
  expectCode(() => m.call("spin", []), "COTERIE_ERR_SANDBOX_TIMEOUT");
  assert.equal(m.call("inc", []), 1);
  sandbox.dispose();
});

for (const bomb of ["arrayBomb", "stringBomb", "bufferBomb"]) {
  test(`an allocation bomb (${bomb}) is stopped at the memory limit; the process and the module go on`, () => {
    const sandbox = createSandbox({ limits: { memoryBytesMax: 16 * MiB, callTimeoutMs: 20_000 } });
    const m = sandbox.loadModule(source, "app.js");
    const e = expectCode(() => m.call(bomb, []), "COTERIE_ERR_SANDBOX_MEMORY");
    assert.match(e.message, /memory limit/);
    assert.equal(m.call("add", [1, 2]), 3);
    assert.ok(sandbox.stats().heapUsedBytes < 16 * MiB);
    sandbox.dispose();
  });
}

test("deep recursion is COTERIE_ERR_SANDBOX_STACK_OVERFLOW; moderate depth works", () => {
  const sandbox = createSandbox();
  const m = sandbox.loadModule(source, "app.js");
  assert.equal(m.call("deep", [1000]), 1000);
  const e = expectCode(() => m.call("recurse", []), "COTERIE_ERR_SANDBOX_STACK_OVERFLOW");
  assert.match(e.message, /recursed too deeply/);
  assert.equal(m.call("add", [1, 2]), 3);
  assert.equal(sandbox.stats().isolatesCreated, 1, "a stack overflow needs no new isolate");
  sandbox.dispose();
});

test("results, arguments, sources and host payloads are bounded in UTF-8 bytes", () => {
  const sandbox = createSandbox({
    limits: { resultBytesMax: 100, argsBytesMax: 100, hostCallBytesMax: 100 },
  });
  const m = sandbox.loadModule(source, "app.js");
  assert.equal(m.call("sized", [98, "a"]), "a".repeat(98)); // 100 bytes of JSON with quotes
  expectCode(() => m.call("sized", [99, "a"]), "COTERIE_ERR_SANDBOX_RESULT_TOO_LARGE");
  expectCode(() => m.call("sized", [1_000_000, "a"]), "COTERIE_ERR_SANDBOX_RESULT_TOO_LARGE");
  // 52 code units of JSON but 102 bytes of UTF-8: only the exact host-side count catches it.
  expectCode(() => m.call("sized", [50, "é"]), "COTERIE_ERR_SANDBOX_RESULT_TOO_LARGE");
  expectCode(() => m.call("add", ["x".repeat(100), 1]), "COTERIE_ERR_SANDBOX_INPUT_TOO_LARGE");
  const e = expectCode(() => m.call("sendToHost", [200], { sink: () => 1 }), "COTERIE_ERR_SANDBOX_THROWN");
  assert.match(e.message, /host\.sink: arguments exceed 100 bytes/);
  expectCode(() => m.call("sendToHost", [1], { sink: () => "y".repeat(200) }), "COTERIE_ERR_SANDBOX_THROWN");
  const small = createSandbox({ limits: { sourceBytesMax: 10 } });
  expectCode(() => small.loadModule(source, "big.js"), "COTERIE_ERR_SANDBOX_INPUT_TOO_LARGE");
  small.dispose();
  sandbox.dispose();
});

test("a top-level infinite loop is stopped at load time", () => {
  const sandbox = createSandbox({ limits: { loadTimeoutMs: 50 } });
  expectCode(() => sandbox.loadModule("for (;;) {}", "loop.js"), "COTERIE_ERR_SANDBOX_TIMEOUT");
  assert.equal(sandbox.loadModule(source, "app.js").call("add", [1, 1]), 2);
  sandbox.dispose();
});

test("sandboxes are independent: a failure in one leaves the other's isolate untouched", () => {
  const a = createSandbox({ limits: { memoryBytesMax: 16 * MiB, callTimeoutMs: 20_000 } });
  const b = createSandbox();
  const ma = a.loadModule(source, "a.js");
  const mb = b.loadModule(source, "b.js");
  assert.equal(mb.call("inc", []), 1);
  expectCode(() => ma.call("arrayBomb", []), "COTERIE_ERR_SANDBOX_MEMORY");
  assert.equal(mb.call("inc", []), 2, "b kept its module state");
  assert.equal(b.stats().isolatesCreated, 1);
  // A host function of one sandbox may call into another.
  assert.equal(ma.call("reenter", [], { again: () => mb.call("add", [20, 22]) }), 42);
  a.dispose();
  b.dispose();
});

test("calling back into the same sandbox from a host function is refused as a host bug", () => {
  const sandbox = createSandbox();
  const m = sandbox.loadModule(source, "app.js");
  assert.throws(() => m.call("reenter", [], { again: () => m.call("add", [1, 2]) }), InvariantError);
  assert.equal(m.call("add", [1, 2]), 3);
  sandbox.dispose();
});

test("a host bug followed by a guest loop rethrows the bug and still replaces the isolate", () => {
  const sandbox = createSandbox({ limits: { callTimeoutMs: 50 } });
  const m = sandbox.loadModule(
    "export function f() { try { host.bad(); } catch {} for (;;) {} } export function ok() { return 1; }",
    "app.js",
  );
  const bug = new Error("host bug");
  const bad = () => {
    throw bug;
  };
  assert.throws(
    () => m.call("f", [], { bad }),
    (e) => e === bug,
  );
  assert.equal(m.call("ok", []), 1);
  assert.equal(sandbox.stats().isolatesCreated, 2, "the timed-out isolate was not reused");
  sandbox.dispose();
});
