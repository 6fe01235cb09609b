// Frames sent to one peer in one event-loop turn leave in one socket write, in order, and nothing
// waits beyond that turn. Writes are counted where every stream write is dispatched: net.Socket's
// `_write` / `_writev` (a TLSSocket inherits both), spied on for the duration of each test.
import assert from "node:assert/strict";
import { Socket } from "node:net";
import { test } from "node:test";
import { createServer, type Server } from "node:tls";
import type { Message } from "../../../src/consensus/index.ts";
import { decodeMessage } from "../../../src/node/channels/codec.ts";
import { FrameReader } from "../../../src/node/channels/framing.ts";
import { testChannels, testNode, testService } from "./channels-fixture.ts";

type Proto = {
  _write(this: Socket, ...args: unknown[]): void;
  _writev(this: Socket, ...args: unknown[]): void;
};

/** Counts socket writes (one per `_write`/`_writev` dispatch) until `restore()`. */
function countWrites(): { count(): number; restore(): void } {
  const proto = Socket.prototype as unknown as Proto;
  const { _write, _writev } = proto;
  let n = 0;
  proto._write = function (...args) {
    n++;
    _write.apply(this, args);
  };
  proto._writev = function (...args) {
    n++;
    _writev.apply(this, args);
  };
  return {
    count: () => n,
    restore() {
      proto._write = _write;
      proto._writev = _writev;
    },
  };
}

async function setUp() {
  const svc = await testService("P-256");
  const svcCert = svc.cert;
  const [a, b] = [await testNode(svc), await testNode(svc)];
  // The peer: a plain TLS server that decodes the frames it receives, in arrival order.
  const received: number[] = [];
  const reader = new FrameReader(1 << 20);
  const server: Server = createServer(
    { key: b.keyPem, cert: b.certPem, ca: svcCert, requestCert: true, minVersion: "TLSv1.3" },
    (socket) => {
      socket.on("data", (chunk: Buffer) => {
        for (const f of reader.push(chunk)) received.push((decodeMessage(f) as { commit: number }).commit);
      });
    },
  );
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const port = (server.address() as { port: number }).port;
  const channels = testChannels(a, svcCert, {
    addressOf: () => ({ host: "127.0.0.1", port }),
    queueFramesMax: 100,
    reconnectMsMin: 10,
    reconnectMsMax: 50,
  });
  const heartbeat = (commit: number): Message => ({
    type: "MsgHeartbeat",
    from: a.id,
    to: b.id,
    term: 1,
    commit,
  });
  const until = async (cond: () => boolean) => {
    const end = Date.now() + 5000;
    while (!cond()) {
      if (Date.now() > end) throw new Error(`received ${received.length} frames`);
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  channels.send(heartbeat(0)); // opens the connection
  await until(() => received.length === 1);
  const close = async () => {
    await channels.close();
    await new Promise((r) => server.close(r));
  };
  return { channels, heartbeat, received, until, close, peer: b.id };
}

const turn = () => new Promise((r) => setImmediate(r));

test("frames sent to one peer in one turn leave in one write, in order", async () => {
  const t = await setUp();
  const writes = countWrites();
  try {
    for (let i = 1; i <= 50; i++) t.channels.send(t.heartbeat(i));
    await turn();
    assert.equal(writes.count(), 1, "one write for the turn's 50 frames");
    await t.until(() => t.received.length === 51);
    assert.deepEqual(
      t.received,
      Array.from({ length: 51 }, (_, i) => i),
    );
    assert.equal(t.channels.dropped().get(t.peer), 0);
  } finally {
    writes.restore();
    await t.close();
  }
});

test("a frame is written by the end of its turn, and each turn has its own write", async () => {
  const t = await setUp();
  const writes = countWrites();
  try {
    t.channels.send(t.heartbeat(1));
    t.channels.send(t.heartbeat(2));
    assert.equal(writes.count(), 0, "held while the turn runs");
    await new Promise((r) => process.nextTick(r));
    assert.equal(writes.count(), 1, "written once the code that sent it has run");
    await t.until(() => t.received.length === 3);
    t.channels.send(t.heartbeat(3));
    await turn();
    assert.equal(writes.count(), 2, "a later turn's frame is its own write");
    await t.until(() => t.received.length === 4);
    assert.deepEqual(t.received, [0, 1, 2, 3]);
  } finally {
    writes.restore();
    await t.close();
  }
});
