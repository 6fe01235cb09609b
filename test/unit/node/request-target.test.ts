// parseRequestTarget against the WHATWG parser it stands in for: the same pathname and the same
// query parameters for simple targets (split at "?") and for everything it hands to `new URL`, and
// `param(name)` (read without parsing the whole query when it is plain) as `searchParams.get(name)`.
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
  "/app/log/private?id&id=2",
  "/app/log/private?idx=1&id=2&i=3",
  "/app/log/private?wait_for_commit=true&wait_for_commit=false",
  "/app/log/private?wait_for_commit&x=1",
  "/app/log/private?a=b=c&&id=",
  "/app/log/private?wait_for_commit=tr%75e",
  "/app/log/private?wait%5ffor_commit=true",
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
    for (const name of ["id", "i", "idx", "x", "", "wait_for_commit", "a", "q", "y", "absent"]) {
      assert.equal(actual.param(name), expected.searchParams.get(name), `param(${JSON.stringify(name)})`);
    }
  });
}

test("searchParams is made on first read, once, and param reads a plain query without it", () => {
  const target = parseRequestTarget("/app/log/private?id=1&wait_for_commit=true");
  assert.equal(target.param("wait_for_commit"), "true");
  assert.equal(Object.getOwnPropertyDescriptor(target, "searchParams"), undefined, "a getter");
  const params = target.searchParams;
  assert.equal(target.searchParams, params, "made once");
  params.set("id", "2");
  assert.equal(target.param("id"), "1", "param reads the target as received");
  assert.equal(parseRequestTarget("/app/log/private").searchParams.size, 0);
});
