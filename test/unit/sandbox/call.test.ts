import assert from "node:assert/strict";
import { test } from "node:test";
import { createSandbox, type HostFunctions } from "../../../src/sandbox/index.ts";
import { CoterieError } from "../../../src/util/errors.ts";
import { expectCode } from "./helpers.ts";

const source = `
export function add(a, b) { return a + b; }
export function echo(...args) { return args; }
export function nothing() {}
export function kv(key) { const v = host.get(key); host.put(key, v + 1); return host.get(key); }
export function names() { return Object.keys(host).sort(); }
export function reverseBytes(text) { const b = base64.decode(text); b.reverse(); return base64.encode(b); }
export function callMissingHost() { return host.absent(); }
export function hostThrows() { return host.fail(); }
export function hostThrowsCaught() { try { host.fail(); } catch (e) { return "caught " + e.code + ": " + e.message; } }
export function boom() { throw new TypeError("bad input " + 42); }
export function throwString() { throw "plain string"; }
export function promise() { return Promise.resolve(1); }
export function bigint() { return 1n; }
export const constant = 7;
`;

test("loads an ES module and lists its exports with their kinds", () => {
  const sandbox = createSandbox();
  const m = sandbox.loadModule(source, "app.js");
  assert.equal(m.exports.add, "function");
  assert.equal(m.exports.constant, "number");
  assert.equal(m.filename, "app.js");
  assert.equal(sandbox.stats().modulesLoaded, 1);
  sandbox.dispose();
});

test("calls an export with JSON arguments and returns its JSON result", () => {
  const sandbox = createSandbox();
  const m = sandbox.loadModule(source, "app.js");
  assert.equal(m.call("add", [2, 40]), 42);
  const value = { a: [1, "two", null, true], b: { c: 1.5 } };
  assert.deepEqual(m.call("echo", [value, "x"]), [value, "x"]);
  assert.equal(m.call("nothing", []), null, "undefined becomes null");
  sandbox.dispose();
});

test("host functions are called synchronously and only those offered to the call are visible", () => {
  const sandbox = createSandbox();
  const m = sandbox.loadModule(source, "app.js");
  const store = new Map<string, number>([["k", 1]]);
  const host: HostFunctions = {
    get: (key) => store.get(key as string) ?? 0,
    put: (key, value) => {
      store.set(key as string, value as number);
      return undefined;
    },
  };
  assert.equal(m.call("kv", ["k"], host), 2);
  assert.equal(store.get("k"), 2);
  assert.deepEqual(m.call("names", [], host), ["get", "put"]);
  assert.deepEqual(m.call("names", [], { only: () => 1 }), ["only"]);
  assert.deepEqual(m.call("names", []), []);
  expectCode(() => m.call("callMissingHost", [], host), "COTERIE_ERR_SANDBOX_THROWN");
  sandbox.dispose();
});

test("bytes cross as base64 text, decoded and encoded inside the guest", () => {
  const sandbox = createSandbox();
  const m = sandbox.loadModule(source, "app.js");
  for (const length of [0, 1, 2, 3, 4, 5, 255, 256]) {
    const bytes = Buffer.from(Array.from({ length }, (_, i) => (i * 37 + 11) & 255));
    const out = m.call("reverseBytes", [bytes.toString("base64")]);
    assert.equal(out, Buffer.from(bytes).reverse().toString("base64"), `length ${length}`);
  }
  expectCode(() => m.call("reverseBytes", ["not base64!"]), "COTERIE_ERR_SANDBOX_THROWN");
  sandbox.dispose();
});

test("a host CoterieError reaches the guest with its code, and the host unchanged if uncaught", () => {
  const sandbox = createSandbox();
  const m = sandbox.loadModule(source, "app.js");
  const original = new CoterieError("COTERIE_ERR_KV_LIMIT", "value too large");
  const host: HostFunctions = {
    fail: () => {
      throw original;
    },
  };
  assert.equal(m.call("hostThrowsCaught", [], host), "caught COTERIE_ERR_KV_LIMIT: value too large");
  assert.throws(
    () => m.call("hostThrows", [], host),
    (e) => e === original,
  );
  sandbox.dispose();
});

test("a host bug (non-CoterieError) is rethrown on the host even when the guest catches it", () => {
  const sandbox = createSandbox();
  const m = sandbox.loadModule(source, "app.js");
  const bug = new Error("host bug with a secret path /etc/x");
  const host: HostFunctions = {
    fail: () => {
      throw bug;
    },
  };
  assert.throws(
    () => m.call("hostThrowsCaught", [], host),
    (e) => e === bug,
  );
  assert.equal(m.call("add", [1, 1]), 2, "the module still serves");
  sandbox.dispose();
});

test("a guest throw is COTERIE_ERR_SANDBOX_THROWN carrying the guest's message", () => {
  const sandbox = createSandbox();
  const m = sandbox.loadModule(source, "app.js");
  const e = expectCode(() => m.call("boom", []), "COTERIE_ERR_SANDBOX_THROWN");
  assert.match(e.message, /TypeError: bad input 42/);
  assert.deepEqual(e.details, {
    filename: "app.js",
    exportName: "boom",
    name: "TypeError",
    message: "bad input 42",
  });
  const s = expectCode(() => m.call("throwString", []), "COTERIE_ERR_SANDBOX_THROWN");
  assert.match(s.message, /plain string/);
  assert.equal(m.call("add", [1, 2]), 3);
  sandbox.dispose();
});

test("a result that is not JSON is COTERIE_ERR_SANDBOX_INVALID_RESULT", () => {
  const sandbox = createSandbox();
  const m = sandbox.loadModule(source, "app.js");
  expectCode(() => m.call("promise", []), "COTERIE_ERR_SANDBOX_INVALID_RESULT");
  expectCode(() => m.call("bigint", []), "COTERIE_ERR_SANDBOX_INVALID_RESULT");
  sandbox.dispose();
});

test("a missing or non-function export is COTERIE_ERR_SANDBOX_MISSING_EXPORT, at call and at load", () => {
  const sandbox = createSandbox();
  const m = sandbox.loadModule(source, "app.js");
  expectCode(() => m.call("nope", []), "COTERIE_ERR_SANDBOX_MISSING_EXPORT");
  expectCode(() => m.call("constant", []), "COTERIE_ERR_SANDBOX_MISSING_EXPORT");
  const constitution = "export function validate() { return true; } export function resolve() {}";
  const e = expectCode(
    () => sandbox.loadModule(constitution, "c.js", { requiredFunctions: ["validate", "resolve", "apply"] }),
    "COTERIE_ERR_SANDBOX_MISSING_EXPORT",
  );
  assert.deepEqual(e.details, { filename: "c.js", exportName: "apply" });
  assert.equal(sandbox.stats().modulesLoaded, 1, "the refused module is not kept");
  sandbox.dispose();
});

test("a syntax error is refused at load with the file, line and column", () => {
  const sandbox = createSandbox();
  const e = expectCode(
    () => sandbox.loadModule("export function ok() {}\nexport const x = ;\n", "bad.js"),
    "COTERIE_ERR_SANDBOX_SYNTAX",
  );
  assert.match(e.message, /bad\.js/);
  assert.deepEqual(e.details, { filename: "bad.js", line: 2, column: 18 });
  sandbox.dispose();
});

test("imports are refused at load; a throwing top level is COTERIE_ERR_SANDBOX_THROWN", () => {
  const sandbox = createSandbox();
  expectCode(
    () => sandbox.loadModule('import x from "fs"; export const y = x;', "i.js"),
    "COTERIE_ERR_SANDBOX_IMPORT",
  );
  const e = expectCode(
    () => sandbox.loadModule('throw new Error("top level says no");', "t.js"),
    "COTERIE_ERR_SANDBOX_THROWN",
  );
  assert.match(e.message, /top level says no/);
  assert.equal(sandbox.stats().modulesLoaded, 0);
  const m = sandbox.loadModule(source, "app.js");
  assert.equal(m.call("add", [1, 2]), 3);
  sandbox.dispose();
});

test("a disposed module or sandbox refuses calls with COTERIE_ERR_SANDBOX_DISPOSED", () => {
  const sandbox = createSandbox();
  const a = sandbox.loadModule(source, "a.js");
  const b = sandbox.loadModule(source, "b.js");
  a.dispose();
  expectCode(() => a.call("add", [1, 2]), "COTERIE_ERR_SANDBOX_DISPOSED");
  assert.equal(b.call("add", [1, 2]), 3);
  sandbox.dispose();
  assert.equal(sandbox.isDisposed, true);
  expectCode(() => b.call("add", [1, 2]), "COTERIE_ERR_SANDBOX_DISPOSED");
  expectCode(() => sandbox.loadModule(source, "c.js"), "COTERIE_ERR_SANDBOX_DISPOSED");
});

test("modules in one sandbox have separate globals", () => {
  const sandbox = createSandbox();
  const a = sandbox.loadModule("export function set() { globalThis.shared = 1; return 1; }", "a.js");
  const b = sandbox.loadModule("export function get() { return typeof globalThis.shared; }", "b.js");
  a.call("set", []);
  assert.equal(b.call("get", []), "undefined");
  sandbox.dispose();
});
