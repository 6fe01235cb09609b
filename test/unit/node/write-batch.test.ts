// Batched response writes on a real node:https server (write-batch.ts): pipelined responses that
// complete in one turn leave in one socket write and in request order; a `Connection: close`
// response is delivered before the server closes; a streamed body still meets back-pressure and
// arrives whole. Server writes are counted where every stream write is dispatched: net.Socket's
// `_write` / `_writev` (a TLSSocket inherits both), for the server's sockets only.
import assert from "node:assert/strict";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer, type Server } from "node:https";
import { Socket } from "node:net";
import { test } from "node:test";
import { connect, type TLSSocket } from "node:tls";
import { generateKeyPair, privateKeyToPem } from "../../../src/crypto/keys.ts";
import { createSelfSignedCertificate } from "../../../src/crypto/x509.ts";
import { batchWrites } from "../../../src/node/write-batch.ts";

const BATCH_BYTES_MAX = 64 * 1024;

type Proto = {
  _write(this: Socket, ...args: unknown[]): void;
  _writev(this: Socket, ...args: unknown[]): void;
};

/** A server whose connections batch their writes (or not), counting the writes it makes. */
async function serve(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  batch = true,
): Promise<{ port: number; writes(): number; close(): Promise<void> }> {
  const key = generateKeyPair("P-256");
  const cert = await createSelfSignedCertificate(key, { subject: "CN=s", validityDays: 1, ca: false });
  const serverSockets = new WeakSet<object>();
  const proto = Socket.prototype as unknown as Proto;
  const { _write, _writev } = proto;
  let writes = 0;
  proto._write = function (...args) {
    if (serverSockets.has(this)) writes++;
    _write.apply(this, args);
  };
  proto._writev = function (...args) {
    if (serverSockets.has(this)) writes++;
    _writev.apply(this, args);
  };
  const server: Server = createServer({ key: privateKeyToPem(key.privateKey), cert }, handler);
  server.on("secureConnection", (socket: TLSSocket) => {
    serverSockets.add(socket);
    if (batch) batchWrites(socket, BATCH_BYTES_MAX);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return {
    port: (server.address() as { port: number }).port,
    writes: () => writes,
    async close() {
      proto._write = _write;
      proto._writev = _writev;
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

/** Opens a TLS connection and writes `requests` back to back; collects what comes back. */
async function pipeline(port: number, requests: string[]) {
  const socket = connect({ host: "127.0.0.1", port, rejectUnauthorized: false });
  await new Promise((r) => socket.once("secureConnect", r));
  let text = "";
  socket.setEncoding("latin1");
  socket.on("data", (d: string) => {
    text += d;
  });
  const ended = new Promise<void>((r) => socket.once("end", () => r()));
  socket.write(requests.join(""));
  return { socket, text: () => text, ended };
}

const get = (path: string, close = false) =>
  `GET ${path} HTTP/1.1\r\nhost: x\r\n${close ? "connection: close\r\n" : ""}\r\n`;

async function until(cond: () => boolean): Promise<void> {
  const end = Date.now() + 5000;
  while (!cond()) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Holds 16 pipelined requests and answers them all in one turn, the last first. */
function answerTogether(n: number) {
  const held: { path: string; res: ServerResponse }[] = [];
  return (req: IncomingMessage, res: ServerResponse) => {
    held.push({ path: req.url ?? "", res });
    if (held.length < n) return;
    for (const { path, res } of held.reverse()) {
      res.writeHead(200, { "content-type": "text/plain", "content-length": path.length });
      res.end(path);
    }
  };
}

const bodies = (text: string) => [...text.matchAll(/\r\n\r\n(\/\d+)/g)].map((m) => m[1]);

for (const batch of [true, false]) {
  test(`16 pipelined responses ending in one turn: ${batch ? "one write" : "one write each (node:http alone)"}, in request order`, async () => {
    const paths = Array.from({ length: 16 }, (_, i) => `/${i}`);
    const server = await serve(answerTogether(16), batch);
    try {
      const client = await pipeline(
        server.port,
        paths.map((p) => get(p)),
      );
      await until(() => bodies(client.text()).length === 16);
      assert.deepEqual(bodies(client.text()), paths);
      assert.equal(server.writes(), batch ? 1 : 16);
    } finally {
      await server.close();
    }
  });
}

test("a batched write leaves within the turn the response ended in", async () => {
  let afterEnd = -1;
  const server = await serve((_req, res) => {
    res.end("x");
    setImmediate(() => {
      afterEnd = server.writes();
    });
  });
  try {
    await pipeline(server.port, [get("/0")]);
    await until(() => afterEnd >= 0);
    assert.equal(afterEnd, 1);
  } finally {
    await server.close();
  }
});

test("connection: close on the last pipelined request: every response arrives, then the end", async () => {
  const paths = Array.from({ length: 8 }, (_, i) => `/${i}`);
  const server = await serve(answerTogether(8));
  try {
    const client = await pipeline(
      server.port,
      paths.map((p, i) => get(p, i === paths.length - 1)),
    );
    await client.ended;
    assert.deepEqual(bodies(client.text()), paths);
    assert.match(client.text(), /connection: close\r\n/i);
  } finally {
    await server.close();
  }
});

test("a streamed body meets back-pressure beyond the batch limit and arrives whole", async () => {
  // 32 MiB: more than loopback's socket buffers hold, so a client that does not read stops the
  // handler; without the batch limit the socket would take it all into memory.
  const chunkBytes = 64 * 1024;
  const chunks = 512;
  let written = 0;
  const server = await serve((_req, res) => {
    res.writeHead(200, { "content-length": chunkBytes * chunks });
    const more = () => {
      while (written < chunks) {
        const ok = res.write(Buffer.alloc(chunkBytes, written % 251));
        written++;
        if (!ok) {
          res.once("drain", more);
          return;
        }
      }
      res.end();
    };
    more();
  });
  const socket = connect({ host: "127.0.0.1", port: server.port, rejectUnauthorized: false });
  try {
    await new Promise((r) => socket.once("secureConnect", r));
    const received: Buffer[] = [];
    socket.pause(); // not reading at first: the server must see back-pressure
    socket.on("data", (d: Buffer) => received.push(d));
    socket.write(get("/big"));
    await until(() => written > 0);
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(
      written < chunks / 2,
      `the handler wrote ${written} of ${chunks} chunks to a client that reads nothing`,
    );
    socket.resume();
    const bodyOf = () => {
      const all = Buffer.concat(received);
      return all.subarray(all.indexOf("\r\n\r\n") + 4);
    };
    await until(() => bodyOf().length === chunkBytes * chunks);
    const body = bodyOf();
    for (let i = 0; i < chunks; i++) assert.equal(body[i * chunkBytes], i % 251, `chunk ${i} in place`);
  } finally {
    socket.destroy();
    await server.close();
  }
});

test("a malformed request: the responses before it and node:http's 400 leave before the destroy", async () => {
  const server = await serve((_req, res) => res.end("ok"));
  try {
    const alone = await pipeline(server.port, ["NOT HTTP\r\n\r\n"]);
    await alone.ended;
    assert.match(alone.text(), /^HTTP\/1\.1 400 Bad Request\r\n/);
    const after = await pipeline(server.port, [get("/0"), "NOT HTTP\r\n\r\n"]);
    await after.ended;
    // node:http alone delivers the 200 but loses the 400 (written while the 200's write is pending).
    assert.match(after.text(), /^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\nok/);
  } finally {
    await server.close();
  }
});
