import assert from "node:assert/strict";
import { test } from "node:test";
import { defineApp, type Endpoint, Router } from "../../../src/app/index.ts";

const e = (method: Endpoint["method"], path: string): Endpoint => ({
  method,
  path,
  auth: ["no_auth"],
  mode: "readonly",
  handler: () => undefined,
});

test("path templates match, decode parameters, and tell 404 from 405", () => {
  const r = new Router(
    [e("GET", "/orders/{id}"), e("POST", "/orders"), e("GET", "/orders/{id}/lines/{n}")],
    "/app",
  );
  const m = r.match("GET", "/app/orders/a%20b");
  assert.equal(m.kind, "found");
  assert.deepEqual(m.kind === "found" && m.params, { id: "a b" });
  assert.equal(m.kind === "found" && m.route, "/app/orders/{id}", "the route names the template");
  const two = r.match("GET", "/app/orders/7/lines/2");
  assert.deepEqual(two.kind === "found" && two.params, { id: "7", n: "2" });
  assert.equal(two.kind === "found" && two.route, "/app/orders/{id}/lines/{n}");
  assert.deepEqual(r.match("DELETE", "/app/orders"), { kind: "method-not-allowed", allowed: ["POST"] });
  assert.deepEqual(r.match("GET", "/app/orders/7/extra"), { kind: "not-found" });
  assert.deepEqual(r.match("GET", "/orders/7"), { kind: "not-found" }, "the prefix is required");
});

test("defineApp refuses malformed endpoints and duplicate routes at load time", () => {
  const bad: Array<[Endpoint[], RegExp]> = [
    [[e("GET", "no-slash")], /path must be/],
    [[e("GET", "/a b")], /path must be/],
    [[{ ...e("GET", "/a"), method: "TRACE" as Endpoint["method"] }], /unknown method/],
    [[{ ...e("GET", "/a"), auth: [] }], /auth/],
    [[{ ...e("GET", "/a"), mode: "sometimes" as Endpoint["mode"] }], /unknown mode/],
    [[e("GET", "/a/{x}"), e("GET", "/a/{y}")], /same route/],
  ];
  for (const [endpoints, message] of bad) {
    assert.throws(() => defineApp({ name: "t", endpoints }), message);
  }
  assert.doesNotThrow(() => defineApp({ name: "t", endpoints: [e("GET", "/a/{x}"), e("POST", "/a/{x}")] }));
});
