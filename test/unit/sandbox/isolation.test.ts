import assert from "node:assert/strict";
import { test } from "node:test";
import { createSandbox } from "../../../src/sandbox/index.ts";
import { CoterieError } from "../../../src/util/errors.ts";
import { expectCode } from "./helpers.ts";

const probe = `
export function typeOf(expression) { return (0, eval)("typeof " + expression); }
export function run(code) { return (0, eval)(code); }
export function hostErrorStack() { try { host.fail(); } catch (e) { return String(e.stack); } }
export function hostFunctionSource() { return String(host.get); }
export function replaceHost() { try { globalThis.host = { get: () => "forged" }; } catch {} return host.get("k"); }
`;

function load() {
  const sandbox = createSandbox();
  return { sandbox, m: sandbox.loadModule(probe, "probe.js") };
}

test("the guest has no host globals: process, require, fetch, timers, module, Buffer", () => {
  const { sandbox, m } = load();
  const absent = [
    "process",
    "require",
    "fetch",
    "setTimeout",
    "setInterval",
    "setImmediate",
    "queueMicrotask",
  ];
  for (const name of [...absent, "module", "Buffer", "global", "atob", "XMLHttpRequest", "performance"]) {
    assert.equal(m.call("typeOf", [name]), "undefined", name);
  }
  assert.equal(m.call("typeOf", ["globalThis.process"]), "undefined");
  assert.equal(m.call("run", ["Function('return this')() === globalThis"]), true, "no other realm to reach");
  sandbox.dispose();
});

test("clock and randomness are unavailable, with a message saying what to do", () => {
  const { sandbox, m } = load();
  for (const code of [
    "Date.now()",
    "new Date()",
    "Date()",
    "Math.random()",
    "new Intl.DateTimeFormat().format()",
  ]) {
    const e = expectCode(() => m.call("run", [code]), "COTERIE_ERR_SANDBOX_THROWN");
    assert.match(e.message, /not available in the sandbox.*deterministic/, code);
  }
  assert.equal(m.call("run", ["new Date(0).toISOString()"]), "1970-01-01T00:00:00.000Z");
  assert.equal(m.call("run", ["new Date(0) instanceof Date"]), true);
  assert.equal(m.call("run", ["Date.UTC(2020, 0, 1)"]), 1577836800000);
  assert.equal(m.call("run", ["new Intl.DateTimeFormat('en', { timeZone: 'UTC' }).format(0)"]), "1/1/1970");
  assert.equal(m.call("run", ["Object.getPrototypeOf(new Date(0)).constructor === Date"]), true);
  sandbox.dispose();
});

test("GC-dependent, shared-memory and WebAssembly globals are removed", () => {
  const { sandbox, m } = load();
  for (const name of ["WeakRef", "FinalizationRegistry", "SharedArrayBuffer", "Atomics", "WebAssembly"]) {
    assert.equal(m.call("typeOf", [name]), "undefined", name);
  }
  sandbox.dispose();
});

test("the same code gives the same answer in two sandboxes", () => {
  const code = "JSON.stringify([1e21, 0.1 + 0.2, [3, 1, 2].sort(), 'x'.localeCompare('y'), typeof host])";
  const a = load();
  const b = load();
  assert.equal(a.m.call("run", [code]), b.m.call("run", [code]));
  a.sandbox.dispose();
  b.sandbox.dispose();
});

test("a host error reaches the guest without the host's stack; host functions show only guest code", () => {
  const { sandbox, m } = load();
  const fail = () => {
    throw new CoterieError("COTERIE_ERR_FORBIDDEN", "not allowed");
  };
  const stack = m.call("hostErrorStack", [], { fail }) as string;
  assert.match(stack, /not allowed/);
  assert.doesNotMatch(stack, /node:|\/work\/|sandbox\/bridge|\.ts/);
  const text = m.call("hostFunctionSource", [], { get: () => 1 }) as string;
  assert.doesNotMatch(text, /native code.*ivm|bridge|#host/);
  assert.equal(m.call("replaceHost", [], { get: () => "real" }), "real", "host cannot be replaced");
  sandbox.dispose();
});

test("guest tampering with builtins garbles only its own results, never the host's checks", () => {
  const { sandbox, m } = load();
  m.call("run", ["JSON.stringify = () => 'not json'; JSON.parse = () => { throw 1 }; 0"]);
  assert.equal(m.call("run", ["1 + 1"]), 2, "the dispatcher kept the original JSON functions");
  m.call("run", ["Object.defineProperty(Object.prototype, 'then', { get() { return () => 1 } }); 0"]);
  expectCode(() => m.call("run", ["({a: 1})"]), "COTERIE_ERR_SANDBOX_INVALID_RESULT");
  sandbox.dispose();
});
