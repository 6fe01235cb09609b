// Node-to-node channels over real TLS on loopback: two nodes endorsed by one service exchange
// messages both ways; a certificate endorsed by another service, and the service certificate
// itself, are refused; a message whose `from` is not the sender's certificate is dropped; a peer
// that goes away and comes back is reconnected.
import assert from "node:assert/strict";
import { test } from "node:test";
import { connect } from "node:tls";
import type { Message } from "../../../src/consensus/index.ts";
import { privateKeyToPem } from "../../../src/crypto/keys.ts";
import { encodeMessage } from "../../../src/node/channels/codec.ts";
import { frameHeader } from "../../../src/node/channels/framing.ts";
import { type TestNode, testChannels, testNode, testService } from "./channels-fixture.ts";

function channelsFor(
  n: TestNode,
  svcCert: string,
  book: Map<string, { host: string; port: number }>,
  got: Message[],
) {
  return testChannels(n, svcCert, { addressOf: (id) => book.get(id) ?? null, onMessage: (m) => got.push(m) });
}

const until = async (cond: () => boolean, ms = 5000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 10));
  }
};

test("two endorsed nodes exchange messages; strangers and forged senders are refused; reconnects", async () => {
  const svc = await testService();
  const [n1, n2] = [await testNode(svc), await testNode(svc)];
  const book = new Map<string, { host: string; port: number }>();
  const got1: Message[] = [];
  const got2: Message[] = [];
  const c1 = channelsFor(n1, svc.cert, book, got1);
  let c2 = channelsFor(n2, svc.cert, book, got2);
  book.set(n1.id, await c1.listen());
  book.set(n2.id, await c2.listen());

  const hb = (from: string, to: string, commit: number): Message => ({
    type: "MsgHeartbeat",
    from,
    to,
    term: 1,
    commit,
  });
  c1.send(hb(n1.id, n2.id, 1));
  c1.send(hb(n1.id, n2.id, 2));
  c2.send(hb(n2.id, n1.id, 3));
  await until(() => got2.length === 2 && got1.length === 1);
  assert.deepEqual(
    got2.map((m) => (m as { commit: number }).commit),
    [1, 2],
    "in order",
  );

  // A node of another service cannot connect.
  const other = await testService();
  const stranger = await testNode(other);
  const refusedBefore = c2.refused;
  const s = connect({
    ...book.get(n2.id)!,
    key: stranger.keyPem,
    cert: stranger.certPem,
    rejectUnauthorized: false,
  });
  s.on("error", () => {});
  await until(() => c2.refused > refusedBefore || s.destroyed);
  s.destroy();

  // The service certificate itself is not a node certificate.
  const refusedCa = c2.refused;
  const ca = connect({
    ...book.get(n2.id)!,
    key: privateKeyToPem(svc.key.privateKey),
    cert: svc.cert,
    rejectUnauthorized: false,
  });
  ca.on("error", () => {});
  await until(() => c2.refused > refusedCa);
  ca.destroy();

  // A genuine node that claims to be someone else in `from` is dropped.
  const n3 = await testNode(svc);
  const forged = connect({
    ...book.get(n2.id)!,
    key: n3.keyPem,
    cert: n3.certPem,
    ca: svc.cert,
    checkServerIdentity: () => undefined,
  });
  await new Promise((r) => forged.once("secureConnect", r));
  const body = encodeMessage(hb(n1.id, n2.id, 99));
  const refusedForged = c2.refused;
  forged.write(Buffer.concat([frameHeader(body.length), body]));
  await until(() => c2.refused > refusedForged);
  assert.ok(!got2.some((m) => (m as { commit: number }).commit === 99));
  forged.destroy();

  // n2 restarts on the same port: n1 reconnects after its backoff and delivery resumes.
  const port = book.get(n2.id)!.port;
  await c2.close();
  c1.send(hb(n1.id, n2.id, 4)); // lost or dropped: the peer is gone
  const got2b: Message[] = [];
  c2 = channelsFor(n2, svc.cert, book, got2b);
  (c2 as unknown as { o: { listen: { port: number } } }).o.listen.port = port;
  await c2.listen();
  await until(() => {
    c1.send(hb(n1.id, n2.id, 5));
    return got2b.length > 0;
  });
  assert.ok(got2b.every((m) => (m as { commit: number }).commit === 5));
  await c1.close();
  await c2.close();
});
