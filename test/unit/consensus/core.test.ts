import assert from "node:assert/strict";
import { test } from "node:test";
import * as consensus from "../../../src/consensus/index.ts";
import {
  checkMessage,
  MemoryStorage,
  type MsgApp,
  seededRandom,
  validateConfig,
} from "../../../src/consensus/index.ts";
import { jointMatch } from "../../../src/consensus/quorum.ts";
import { InvariantError } from "../../../src/util/assert.ts";
import { bytes, drain, entry, handle, makeLeader, makeNode } from "./harness.ts";

test("validateConfig fills defaults and rejects nonsense with clear errors", () => {
  const config = validateConfig({ id: "1", initialConfiguration: ["1"] });
  assert.equal(config.electionTimeoutTicks, 10);
  assert.equal(config.preVote, true);
  assert.equal(config.canary, null);
  assert.throws(() => validateConfig({ id: "", initialConfiguration: [] }), TypeError);
  assert.throws(() => validateConfig({ id: "1", initialConfiguration: ["1", "1"] }), /duplicate/);
  assert.throws(
    () => validateConfig({ id: "1", initialConfiguration: [], electionTimeoutTicks: 0 }),
    RangeError,
  );
  assert.throws(
    () =>
      validateConfig({
        id: "1",
        initialConfiguration: [],
        electionTimeoutTicks: 5,
        heartbeatIntervalTicks: 5,
      }),
    /heartbeatIntervalTicks \(5\) must be below electionTimeoutTicks \(5\)/,
  );
  assert.throws(
    () => validateConfig({ id: "1", initialConfiguration: [], appendBytesMax: 100, inflightBytesMax: 10 }),
    /inflightBytesMax/,
  );
});

test("MemoryStorage: entries(lo, hi) is half-open, keeps at least one entry, and respects bytesMax", () => {
  const storage = new MemoryStorage();
  storage.append([entry(1, 1), entry(2, 1), entry(3, 2)]);
  assert.deepEqual(
    storage.entries(1, 3, 1e9).map((e) => e.index),
    [1, 2],
  );
  assert.deepEqual(
    storage.entries(1, 4, 1).map((e) => e.index),
    [1],
  );
  assert.equal(storage.term(0), 0);
  assert.equal(storage.term(4), undefined);
  assert.throws(() => storage.entries(0, 2, 1e9), InvariantError);
  storage.compact(2, ["1"], bytes("state"));
  assert.equal(storage.firstIndex(), 3);
  assert.equal(storage.term(2), 1);
  assert.equal(storage.term(1), undefined);
});

test("propose: refused off the leader, and a second reconfiguration while one is pending", () => {
  const follower = makeNode("2", ["1", "2", "3"]);
  assert.deepEqual(follower.raw.propose({ kind: "data", payload: bytes("x") }), {
    ok: false,
    reason: "not-leader",
    leader: null,
  });
  const leader = makeLeader();
  assert.equal(
    leader.raw.propose({ kind: "reconfiguration", payload: bytes("c"), configuration: ["1", "2"] }).ok,
    true,
  );
  const second = leader.raw.propose({ kind: "reconfiguration", payload: bytes("c"), configuration: ["1"] });
  assert.equal(second.ok === false && second.reason, "reconfiguration-pending");
  const empty = leader.raw.propose({ kind: "reconfiguration", payload: bytes("c"), configuration: [] });
  assert.equal(empty.ok === false && empty.reason, "invalid-configuration");
});

test("propose: refused once uncommittedEntriesMax entries are uncommitted", () => {
  const leader = makeLeader({ uncommittedEntriesMax: 2 });
  assert.equal(leader.raw.propose({ kind: "data", payload: bytes("a") }).ok, true);
  assert.equal(leader.raw.propose({ kind: "data", payload: bytes("b") }).ok, true);
  const third = leader.raw.propose({ kind: "data", payload: bytes("c") });
  assert.equal(third.ok === false && third.reason, "uncommitted-entries-max");
});

test("Ready contract: no input between ready() and advance()", () => {
  const leader = makeLeader();
  leader.raw.propose({ kind: "data", payload: bytes("a") });
  const rd = leader.raw.ready();
  assert.throws(() => leader.raw.tick(), /between ready\(\) and advance\(\)/);
  leader.storage.append(rd.entries);
  leader.raw.advance(rd);
  assert.throws(() => leader.raw.advance(rd), /advance\(\) without a ready\(\)/);
});

/** Follower `from`'s acknowledgement of `index` to leader "1". */
const ack = (from: string, index: number, term = 1) => ({
  type: "MsgAppResp" as const,
  from,
  to: "1",
  term,
  index,
  reject: false,
  conflictTerm: 0,
  conflictIndex: 0,
});

test("a leader's entries advanced without a sync count towards a commit only once persisted()", () => {
  const leader = makeLeader();
  const { index } = leader.raw.propose({ kind: "signature", payload: bytes("sig") }) as { index: number };
  const rd = leader.raw.ready();
  leader.storage.append(rd.entries);
  leader.raw.advance(rd, { durable: false });
  // One follower: with the leader not counted, 1 of 3 is no quorum.
  leader.raw.step(ack("2", index));
  drain(leader);
  assert.equal(leader.raw.basicStatus().commit, 0, "the leader's own copy does not count yet");
  // A stale notification (another term) is ignored; the right one commits with follower 2.
  leader.raw.persisted(index, 0);
  drain(leader);
  assert.equal(leader.raw.basicStatus().commit, 0);
  leader.raw.persisted(index, 1);
  drain(leader);
  assert.equal(leader.raw.basicStatus().commit, index);
  assert.equal(leader.committed.at(-1)?.index, index, "handed over as committed");

  // Two followers are a quorum without the leader's disk.
  const next = leader.raw.propose({ kind: "signature", payload: bytes("sig2") }) as { index: number };
  const rd2 = leader.raw.ready();
  leader.storage.append(rd2.entries);
  leader.raw.advance(rd2, { durable: false });
  leader.raw.step(ack("2", next.index));
  leader.raw.step(ack("3", next.index));
  drain(leader);
  assert.equal(leader.raw.basicStatus().commit, next.index);

  // Only a leader's appends may skip the sync.
  const follower = makeNode("2", ["1", "2", "3"]);
  follower.raw.step({
    type: "MsgApp",
    from: "1",
    to: "2",
    term: 1,
    prevIndex: 0,
    prevTerm: 0,
    entries: [entry(1, 1, "signature")],
    commit: 0,
  });
  const frd = follower.raw.ready();
  follower.storage.append(frd.entries);
  assert.throws(() => follower.raw.advance(frd, { durable: false }), /only a leader/);
});

test("a later Ready that asked for no sync does not make a leader's unsynced entries count", () => {
  // Seen under load in raft-replicator-rounds: entries advanced with { durable: false }, then a
  // Ready with only heartbeats advanced with the default { durable: true } counted the leader's
  // copy (nothing was synced for it), and one follower's ack committed with one durable copy of three.
  const leader = makeLeader();
  const { index } = leader.raw.propose({ kind: "signature", payload: bytes("sig") }) as { index: number };
  const rd = leader.raw.ready();
  leader.storage.append(rd.entries);
  leader.raw.advance(rd, { durable: false });
  for (let k = 0; k < 10 && !leader.raw.hasReady(); k++) leader.raw.tick();
  const beat = leader.raw.ready();
  assert.equal(beat.entries.length, 0);
  assert.equal(beat.mustSync, false, "a Ready of heartbeats asks for no sync");
  leader.raw.advance(beat);
  leader.raw.step(ack("2", index));
  drain(leader);
  assert.equal(leader.raw.basicStatus().commit, 0, "one durable copy of three commits nothing");
  leader.raw.persisted(index, 1);
  drain(leader);
  assert.equal(leader.raw.basicStatus().commit, index, "the leader's copy counts once persisted");
});

test("flow control: MsgApps are cut at appendBytesMax and at most inflightMessagesMax are in flight", () => {
  const leader = makeLeader({ appendBytesMax: 100, inflightMessagesMax: 2, inflightBytesMax: 1000 });
  for (let k = 0; k < 20; k++) leader.raw.propose({ kind: "data", payload: new Uint8Array(40) });
  const toTwo = drain(leader).filter((m): m is MsgApp => m.type === "MsgApp" && m.to === "2");
  assert.equal(toTwo.length, 2, "the window holds two messages");
  for (const m of toTwo)
    assert.ok(m.entries.length >= 1 && m.entries.length <= 1, "72 bytes per entry: one fits in 100");
  leader.raw.step({
    type: "MsgAppResp",
    from: "2",
    to: "1",
    term: 1,
    index: 1,
    reject: false,
    conflictTerm: 0,
    conflictIndex: 0,
  });
  const more = drain(leader).filter((m) => m.type === "MsgApp" && m.to === "2");
  assert.equal(more.length, 1, "one acknowledgement frees one slot");
});

test("fast divergence: a reject hint skips the follower's whole conflicting term at once", () => {
  const leader = makeLeader();
  for (let k = 0; k < 5; k++) leader.raw.propose({ kind: "data", payload: bytes(`d${k}`) });
  drain(leader);
  leader.raw.step({
    type: "MsgAppResp",
    from: "2",
    to: "1",
    term: 1,
    index: 5,
    reject: true,
    conflictTerm: 0,
    conflictIndex: 2,
  });
  const retry = drain(leader).find((m): m is MsgApp => m.type === "MsgApp" && m.to === "2");
  assert.equal(retry?.prevIndex, 1);
});

test("snapshot: a follower behind the leader's first index is sent the caller's snapshot", () => {
  const leader = makeLeader();
  leader.raw.propose({ kind: "data", payload: bytes("a") });
  leader.raw.propose({ kind: "signature", payload: bytes("s") });
  drain(leader);
  leader.raw.step({
    type: "MsgAppResp",
    from: "3",
    to: "1",
    term: 1,
    index: 2,
    reject: false,
    conflictTerm: 0,
    conflictIndex: 0,
  });
  drain(leader);
  assert.equal(leader.raw.status().commit, 2);
  leader.storage.compact(2, ["1", "2", "3"], bytes("state@2"));
  // Follower 2 lost everything (say, a new disk): it rejects index 2 and hints that it holds nothing.
  leader.raw.step({
    type: "MsgAppResp",
    from: "2",
    to: "1",
    term: 1,
    index: 2,
    reject: true,
    conflictTerm: 0,
    conflictIndex: 1,
  });
  const snap = drain(leader).find((m) => m.type === "MsgSnap");
  assert.ok(snap?.type === "MsgSnap");
  assert.equal(new TextDecoder().decode(snap.snapshot.payload), "state@2");

  const follower = makeNode("2", ["1", "2", "3"]);
  follower.raw.step(snap);
  const rd = handle(follower);
  assert.equal(rd.snapshot?.meta.index, 2);
  assert.equal(follower.storage.firstIndex(), 3);
  assert.equal(follower.raw.status().commit, 2);
});

test("the public export list is deliberate", () => {
  assert.deepEqual(Object.keys(consensus).sort(), [
    "MemoryStorage",
    "RawNode",
    "checkMessage",
    "describeEntry",
    "describeMessage",
    "emptySnapshot",
    "entryBytes",
    "seededRandom",
    "validateConfig",
  ]);
});

test("jointMatch equals a naive search for the largest index on a majority of every configuration", () => {
  const random = seededRandom(42);
  const ids = ["1", "2", "3", "4", "5", "6"];
  for (let round = 0; round < 500; round++) {
    const pick = () => ids.filter(() => random() < 0.6);
    const configs = [pick(), pick()].filter((c) => c.length > 0);
    if (configs.length === 0) continue;
    const match = new Map(ids.map((id) => [id, Math.floor(random() * 8)]));
    const matchOf = (id: string) => match.get(id)!;
    let naive = 0;
    for (let i = 0; i <= 8; i++) {
      if (configs.every((c) => c.filter((id) => matchOf(id) >= i).length > c.length / 2)) naive = i;
    }
    assert.equal(jointMatch(configs, matchOf), naive, JSON.stringify({ configs, match: [...match] }));
  }
});

test("checkMessage refuses malformed network input with TypeError/RangeError and accepts real messages", () => {
  const leader = makeLeader();
  leader.raw.propose({ kind: "reconfiguration", payload: bytes("c"), configuration: ["1", "2"] });
  for (const m of drain(leader)) assert.equal(checkMessage(m), m);
  assert.throws(() => checkMessage(null), TypeError);
  assert.throws(() => checkMessage({ type: "MsgNope", from: "1", to: "2", term: 1 }), /unknown type/);
  assert.throws(
    () => checkMessage({ type: "MsgHeartbeat", from: "1", to: "2", term: -1, commit: 0 }),
    RangeError,
  );
  const bad = { type: "MsgApp", from: "1", to: "2", term: 1, prevIndex: 0, prevTerm: 0, commit: 0 };
  assert.throws(
    () => checkMessage({ ...bad, entries: [{ index: 1, term: 1, kind: "data", payload: "x" }] }),
    /payload/,
  );
  assert.throws(
    () =>
      checkMessage({
        ...bad,
        entries: [{ index: 1, term: 1, kind: "reconfiguration", payload: new Uint8Array() }],
      }),
    /configuration/,
  );
});
