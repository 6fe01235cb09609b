// parseRequestTarget against the WHATWG parser it stands in for: the same pathname and the same
// query parameters for simple targets (split at "?") and for everything it hands to `new URL`.
import assert from "node:assert/strict";
import { test } from "node:test";
import { parseRequestTarget } from "../../../src/node/http.ts";

const targets = [
  "/",
  "/app/log/private",
  "/app/log/private?id=17",
  "/app/log/private?wait_for_commit=true",
  "/app/tx?transaction_id=2.15",
  "/app/log/private?id=1&id=2&x=a+b&y=%41%zz%",
  "/app/log/private?",
  "/app/log/private?=&&=x",
  "/app/records/a.b/c~d_e-f",
  "/app/../gov/members",
  "/app/./log/private",
  "/app/log/..",
  "/app/log/.",
  "/app/log/.hidden/x",
  "/app/log/..x",
  "//evil.example/app/log",
  "/app/%2e%2e/gov",
  "/app/log/private?id=1#frag",
  "/app/log/private#frag",
  "/app/log/private?q=a b",
  '/app/log/private?q="x"',
  "/app/lög?x=ü",
  "/app\\log",
  "/app/log/private?q=1?2",
  "*",
  "http://other.example/app/log?id=1",
];

for (const target of targets) {
  test(`parseRequestTarget(${JSON.stringify(target)}) agrees with new URL`, () => {
    const expected = new URL(target, "https://node");
    const actual = parseRequestTarget(target);
    assert.equal(actual.pathname, expected.pathname);
    assert.deepEqual([...actual.searchParams], [...expected.searchParams]);
  });
}
