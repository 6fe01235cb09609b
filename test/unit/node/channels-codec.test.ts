// The node-to-node codec and framing: every message type round-trips, malformed and random bytes
// are refused with RangeError/TypeError (never a crash, never an assertion in the core), frames
// split at any byte boundary reassemble, oversized frames are refused, and the send queue drops
// (and counts) what exceeds its limits.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import type { Message } from "../../../src/consensus/index.ts";
import { decodeMessage, encodeMessage } from "../../../src/node/channels/codec.ts";
import { FrameReader, frameHeader } from "../../../src/node/channels/framing.ts";
import { SendQueue } from "../../../src/node/channels/send-queue.ts";

const a = "a".repeat(64);
const b = "b".repeat(64);

const samples: Message[] = [
  {
    type: "MsgApp",
    from: a,
    to: b,
    term: 3,
    prevIndex: 10,
    prevTerm: 2,
    commit: 9,
    entries: [
      { index: 11, term: 3, kind: "data", payload: new Uint8Array([1, 2, 3]) },
      { index: 12, term: 3, kind: "reconfiguration", payload: new Uint8Array(0), configuration: [a, b] },
      { index: 13, term: 3, kind: "signature", payload: randomBytes(300) },
    ],
  },
  { type: "MsgApp", from: a, to: b, term: 2 ** 40, prevIndex: 0, prevTerm: 0, commit: 0, entries: [] },
  { type: "MsgAppResp", from: b, to: a, term: 3, index: 13, reject: true, conflictTerm: 2, conflictIndex: 7 },
  { type: "MsgVote", from: a, to: b, term: 4, lastIndex: 13, lastTerm: 3, force: true },
  { type: "MsgPreVote", from: a, to: b, term: 4, lastIndex: 13, lastTerm: 3, force: false },
  { type: "MsgVoteResp", from: b, to: a, term: 4, reject: false, commit: 9, commitTerm: 2 },
  { type: "MsgPreVoteResp", from: b, to: a, term: 4, reject: true, commit: 0, commitTerm: 0 },
  { type: "MsgHeartbeat", from: a, to: b, term: 4, commit: 13 },
  { type: "MsgHeartbeatResp", from: b, to: a, term: 4 },
  { type: "MsgTimeoutNow", from: a, to: b, term: 4 },
  {
    type: "MsgSnap",
    from: a,
    to: b,
    term: 5,
    snapshot: { meta: { index: 20, term: 4, configuration: [a, b] }, payload: new Uint8Array([9]) },
  },
];

const plain = (m: unknown) =>
  JSON.parse(
    JSON.stringify(m, (_k, v) =>
      v instanceof Uint8Array ? [...v] : v?.type === "Buffer" && Array.isArray(v.data) ? v.data : v,
    ),
  );

test("every message type round-trips through the binary codec", () => {
  for (const m of samples) {
    const bytes = encodeMessage(m);
    assert.equal(bytes[0], 1, "codec version byte");
    assert.deepEqual(plain(decodeMessage(bytes)), plain(m), m.type);
  }
});

test("encodings follow the layout in docs/operations.md byte for byte, after any room reserved", () => {
  const hex = (s: string) => Buffer.from(s.replace(/\s/g, ""), "hex");
  const heartbeat: Message = { type: "MsgHeartbeat", from: "a", to: "é", term: 5, commit: 2 ** 40 + 7 };
  // version ‖ type 7 ‖ str "a" ‖ str "é" (2 bytes of UTF-8) ‖ u64 term ‖ u64 commit
  const heartbeatBytes = hex("01 07 0001 61 0002 c3a9 0000000000000005 0000010000000007");
  assert.deepEqual(encodeMessage(heartbeat), heartbeatBytes);
  const app: Message = {
    type: "MsgApp",
    from: "a",
    to: "b",
    term: 3,
    prevIndex: 10,
    prevTerm: 2,
    commit: 9,
    entries: [
      { index: 11, term: 3, kind: "reconfiguration", payload: Uint8Array.of(1, 2, 3), configuration: ["a"] },
    ],
  };
  const appBytes = hex(`01 01 0001 61 0001 62 0000000000000003
    000000000000000a 0000000000000002 0000000000000009 00000001
    000000000000000b 0000000000000003 02 01 00000001 0001 61 00000003 010203`);
  assert.deepEqual(encodeMessage(app), appBytes);
  for (const [m, bytes] of [
    [heartbeat, heartbeatBytes],
    [app, appBytes],
  ] as const) {
    const framed = encodeMessage(m, 4);
    assert.equal(framed.length, 4 + bytes.length);
    assert.deepEqual(framed.subarray(4), bytes, "the message follows the reserved bytes unchanged");
    assert.deepEqual(plain(decodeMessage(bytes)), plain(m));
  }
});

test("the codec refuses values it cannot represent instead of truncating them", () => {
  assert.throws(
    () => encodeMessage({ type: "MsgHeartbeat", from: a, to: b, term: -1, commit: 0 }),
    RangeError,
  );
  assert.throws(
    () => encodeMessage({ type: "MsgHeartbeat", from: a, to: b, term: 2 ** 53, commit: 0 }),
    RangeError,
  );
});

test("truncated, extended and flipped encodings are refused with RangeError or TypeError", () => {
  for (const m of samples) {
    const bytes = encodeMessage(m);
    for (let cut = 0; cut < bytes.length; cut++) {
      assert.throws(
        () => decodeMessage(bytes.subarray(0, cut)),
        (e) => e instanceof RangeError || e instanceof TypeError,
      );
    }
    assert.throws(() => decodeMessage(Buffer.concat([bytes, Buffer.from([0])])), RangeError);
  }
  const app = encodeMessage(samples[0] as Message);
  const badVersion = Buffer.from(app);
  badVersion[0] = 2;
  assert.throws(() => decodeMessage(badVersion), /codec version/);
  const badType = Buffer.from(app);
  badType[1] = 99;
  assert.throws(() => decodeMessage(badType), /unknown message type/);
});

test("fuzz: random and mutated bytes never crash the decoder (only RangeError/TypeError)", () => {
  const seedMessages = samples.map((m) => encodeMessage(m));
  let accepted = 0;
  for (let i = 0; i < 20_000; i++) {
    let input: Buffer;
    if (i % 2 === 0) input = randomBytes(i % 200);
    else {
      input = Buffer.from(seedMessages[i % seedMessages.length] as Buffer);
      const flips = 1 + (i % 4);
      for (let f = 0; f < flips; f++) {
        const at = randomBytes(4).readUInt32BE(0) % input.length;
        input[at] = randomBytes(1)[0] as number;
      }
    }
    try {
      decodeMessage(input);
      accepted++;
    } catch (e) {
      assert.ok(e instanceof RangeError || e instanceof TypeError, `unexpected ${String(e)}`);
    }
  }
  assert.ok(accepted < 20_000);
});

test("frames reassemble across arbitrary chunk boundaries", () => {
  const payloads = [Buffer.from("x"), randomBytes(1000), Buffer.alloc(0), randomBytes(70_000)];
  const stream = Buffer.concat(payloads.flatMap((p) => [frameHeader(p.length), p]));
  for (const step of [1, 3, 7, 4096, stream.length]) {
    const reader = new FrameReader(100_000);
    const out: Buffer[] = [];
    for (let i = 0; i < stream.length; i += step) out.push(...reader.push(stream.subarray(i, i + step)));
    assert.deepEqual(out, payloads, `step ${step}`);
  }
});

test("an oversized frame is refused as soon as its header arrives", () => {
  const reader = new FrameReader(1024);
  assert.throws(() => reader.push(frameHeader(1025)), /exceeds frameBytesMax/);
  assert.throws(() => new FrameReader(0), RangeError);
});

test("the send queue is bounded in frames and bytes and counts what it drops", () => {
  const q = new SendQueue({ framesMax: 3, bytesMax: 10 });
  assert.equal(q.push(Buffer.alloc(4)), true);
  assert.equal(q.push(Buffer.alloc(4)), true);
  assert.equal(q.push(Buffer.alloc(4)), false, "bytes limit");
  assert.equal(q.push(Buffer.alloc(2)), true);
  assert.equal(q.push(Buffer.alloc(0)), false, "frames limit");
  assert.equal(q.dropped, 2);
  assert.equal(q.bytes, 10);
  assert.equal(q.shift()?.length, 4);
  assert.equal(q.length, 2);
  assert.equal(q.clear(), 2);
  assert.equal(q.dropped, 4);
  assert.equal(q.shift(), undefined);
});
