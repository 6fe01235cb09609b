// sendJsonText on a real node:http server whose sockets batch their writes (write-batch.ts), as the
// node's do: ASCII text goes out as latin1 and other text as UTF-8, and either way the client gets
// the UTF-8 bytes of the text, with a Content-Length that counts them.
import assert from "node:assert/strict";
import { createServer, get } from "node:http";
import { test } from "node:test";
import { sendJsonText } from "../../../src/node/http.ts";
import { batchWrites } from "../../../src/node/write-batch.ts";

const texts = [
  '{"ascii":"plain text, ~!@#$%^&*()"}',
  '{"latin1 range":"café é ÿ"}',
  '{"bmp":"✓ 漢字","astral":"😀","nul":"\\u0000"}',
  JSON.stringify({ long: "x".repeat(70_000), tail: "é" }),
  JSON.stringify({ long: "y".repeat(70_000) }),
  "",
];

test("sendJsonText delivers the UTF-8 bytes of ASCII and non-ASCII text, with their length", {
  timeout: 30_000,
}, async () => {
  let next = 0;
  const server = createServer((_req, res) => sendJsonText(res, 200, texts[next++] as string, { "x-n": "1" }));
  server.on("connection", (socket) => batchWrites(socket, 64 * 1024));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const { port } = server.address() as { port: number };
  try {
    for (const text of texts) {
      const { headers, body } = await new Promise<{ headers: Record<string, unknown>; body: Buffer }>(
        (resolve, reject) => {
          const req = get({ host: "127.0.0.1", port, path: "/" }, (res) => {
            const chunks: Buffer[] = [];
            res.on("data", (c: Buffer) => chunks.push(c));
            res.on("end", () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
            res.on("error", reject);
          });
          req.on("error", reject);
          // Fewer bytes than the Content-Length promised would leave the answer waiting for good.
          req.setTimeout(5_000, () => req.destroy(new Error("the answer did not complete within 5 s")));
        },
      );
      const expected = Buffer.from(text, "utf8");
      assert.deepEqual(body, expected, text.slice(0, 40));
      assert.equal(Number(headers["content-length"]), expected.length);
      assert.equal(headers["content-type"], "application/json");
      assert.equal(headers["x-n"], "1");
    }
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});
