// Backpressure on a real TLS connection: a peer that stops reading fills the socket, then the
// bounded send queue; further frames are dropped and counted (send never blocks or grows memory
// without bound); when the peer reads again the queue drains in order and nothing else is lost.
import assert from "node:assert/strict";
import { test } from "node:test";
import { createServer, type TLSSocket } from "node:tls";
import type { Message } from "../../../src/consensus/index.ts";
import { decodeMessage } from "../../../src/node/channels/codec.ts";
import { FrameReader } from "../../../src/node/channels/framing.ts";
import { testChannels, testNode, testService } from "./channels-fixture.ts";

test("a peer that stops reading: bounded queue, counted drops, in-order drain afterwards", async () => {
  const svc = await testService("P-384");
  const svcCert = svc.cert;
  const [a, b] = [await testNode(svc), await testNode(svc)];

  // The slow peer: accepts, then does not read until told to.
  let peer: TLSSocket | null = null;
  const received: number[] = [];
  const reader = new FrameReader(1 << 22);
  const server = createServer(
    {
      key: b.keyPem,
      cert: b.certPem,
      ca: svcCert,
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: "TLSv1.3",
    },
    (socket) => {
      peer = socket;
      socket.pause();
      socket.on("data", (chunk: Buffer) => {
        for (const f of reader.push(chunk)) received.push((decodeMessage(f) as { commit: number }).commit);
      });
    },
  );
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const port = (server.address() as { port: number }).port;

  const framesMax = 20;
  const channels = testChannels(a, svcCert, {
    addressOf: () => ({ host: "127.0.0.1", port }),
    frameBytesMax: 1 << 22,
    queueFramesMax: framesMax,
    queueBytesMax: 64 << 20,
    reconnectMsMin: 10,
    reconnectMsMax: 50,
  });
  const payload = new Uint8Array(256 * 1024);
  const msg = (commit: number): Message => ({
    type: "MsgApp",
    from: a.id,
    to: b.id,
    term: 1,
    prevIndex: 0,
    prevTerm: 0,
    commit,
    entries: [{ index: 1, term: 1, kind: "data", payload }],
  });
  channels.send(msg(0)); // opens the connection
  await new Promise((r) => setTimeout(r, 300));
  const sent = 400; // 100 MiB: far beyond socket buffers plus the queue
  for (let i = 1; i <= sent; i++) channels.send(msg(i));
  const dropped = channels.dropped().get(b.id) ?? 0;
  assert.ok(dropped > 0, "frames beyond the socket buffers and the queue are dropped");
  assert.ok(dropped <= sent, "drops are counted once each");

  (peer as TLSSocket | null)?.resume();
  await new Promise<void>((resolve, reject) => {
    const end = Date.now() + 20_000;
    const check = () => {
      if (received.length + dropped === sent + 1) resolve();
      else if (Date.now() > end) reject(new Error(`received ${received.length}, dropped ${dropped}`));
      else setTimeout(check, 20);
    };
    check();
  });
  assert.deepEqual(
    received,
    [...received].sort((x, y) => x - y),
    "what arrives arrives in order",
  );
  assert.ok(received.length >= framesMax, "the queued frames drained once the peer read again");
  await channels.close();
  server.close();
});
