import assert from "node:assert/strict";
import { test } from "node:test";
import { Http1ResponseParser } from "../../../bench/http1-parser.ts";

type Seen = Array<[number, number, boolean]>;

function parseAll(chunks: readonly string[]): Seen {
  const seen: Seen = [];
  const parser = new Http1ResponseParser((status, bodyBytes, closeAfter) =>
    seen.push([status, bodyBytes, closeAfter]),
  );
  for (const c of chunks) parser.push(Buffer.from(c, "latin1"));
  return seen;
}

/** Every way of cutting `text` in two, plus byte-by-byte: framing must not depend on chunking. */
function allSplits(text: string): string[][] {
  const splits: string[][] = [[...text]];
  for (let i = 0; i <= text.length; i++) splits.push([text.slice(0, i), text.slice(i)]);
  return splits;
}

const cl = (status: number, body: string, extra = "") =>
  `HTTP/1.1 ${status} X\r\nContent-Type: text/plain\r\n${extra}Content-Length: ${body.length}\r\n\r\n${body}`;
const chunked =
  "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\nA\r\n0123456789\r\n0\r\nX-Trailer: t\r\n\r\n";

test("pipelined Content-Length, chunked and bodiless responses, split at every byte", () => {
  const stream =
    cl(200, '{"transaction_id":"2.15"}') +
    chunked +
    "HTTP/1.1 204 No Content\r\n\r\n" +
    cl(404, "") +
    cl(500, "oops", "Connection: close\r\n");
  const expected: Seen = [
    [200, 25, false],
    [200, 15, false],
    [204, 0, false],
    [404, 0, false],
    [500, 4, true],
  ];
  for (const split of allSplits(stream)) assert.deepEqual(parseAll(split), expected);
});

test("chunked body without trailers", () => {
  assert.deepEqual(parseAll(["HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"]), [
    [200, 3, false],
  ]);
});

test("incomplete input completes nothing", () => {
  assert.deepEqual(parseAll([cl(200, "abcdef").slice(0, -1)]), []);
});

test("malformed input throws instead of miscounting", () => {
  assert.throws(() => parseAll(["garbage\r\n\r\n"]), /malformed status line/);
  assert.throws(() => parseAll(["HTTP/1.1 200 OK\r\nServer: x\r\n\r\n"]), /without Content-Length/);
  assert.throws(() => parseAll(["HTTP/1.1 999 Nope\r\nContent-Length: 0\r\n\r\n"]), /bad status/);
  assert.throws(
    () => parseAll(["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"]),
    /bad chunk size/,
  );
  assert.throws(() => parseAll([`HTTP/1.1 200 OK\r\n${"X-Big: y\r\n".repeat(8000)}`]), /too large/);
});
