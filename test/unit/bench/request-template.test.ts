import assert from "node:assert/strict";
import { test } from "node:test";
import { compileTemplate, RequestMix } from "../../../bench/request-template.ts";
import { Http1RequestCheck } from "./request-check.ts";

test("placeholders are substituted and Content-Length matches the body", () => {
  const t = compileTemplate(
    {
      name: "w",
      weight: 1,
      method: "POST",
      path: "/app/log/private?x={rand}",
      body: '{"id":{id},"k":"{id64}","r":"{rand64}"}',
      headers: { "content-type": "application/json" },
    },
    "127.0.0.1:1",
  );
  const text = t.render({ id: 42, rand: 7 });
  const req = Http1RequestCheck.parse(text);
  assert.equal(req.requestLine, "POST /app/log/private?x=7 HTTP/1.1");
  assert.equal(req.headers.host, "127.0.0.1:1");
  assert.equal(req.headers["content-type"], "application/json");
  const body = `{"id":42,"k":"${Buffer.from("k42").toString("base64")}","r":"${Buffer.from("k7").toString("base64")}"}`;
  assert.equal(req.body, body);
  assert.equal(Number(req.headers["content-length"]), body.length);
});

test("a template without a body sends no Content-Length", () => {
  const t = compileTemplate({ name: "r", weight: 1, method: "GET", path: "/a?id={id}" }, "h");
  assert.equal(t.render({ id: 3, rand: 0 }), "GET /a?id=3 HTTP/1.1\r\nHost: h\r\n\r\n");
});

test("templates are checked when compiled", () => {
  assert.throws(() => compileTemplate({ name: "x", weight: 0, method: "GET", path: "/" }, "h"), RangeError);
  assert.throws(
    () => compileTemplate({ name: "x", weight: 1, method: "GET", path: "nope" }, "h"),
    RangeError,
  );
  assert.throws(
    () => compileTemplate({ name: "x", weight: 1, method: "POST", path: "/", body: "é" }, "h"),
    RangeError,
  );
});

test("the mix picks templates in proportion to their weights", () => {
  const mix = new RequestMix(
    [
      { name: "a", weight: 1, method: "GET", path: "/a" },
      { name: "b", weight: 3, method: "GET", path: "/b" },
    ],
    "h",
  );
  assert.equal(mix.pick(0), 0);
  assert.equal(mix.pick(0.2499), 0);
  assert.equal(mix.pick(0.25), 1);
  assert.equal(mix.pick(0.999999), 1);
  const counts = [0, 0];
  for (let i = 0; i < 1000; i++) counts[mix.pick(i / 1000)]!++;
  assert.deepEqual(counts, [250, 750]);
  assert.throws(() => new RequestMix([], "h"), RangeError);
});
