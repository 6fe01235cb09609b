// Each test names the sentence of the Raft paper (Ongaro & Ousterhout, "In Search of an
// Understandable Consensus Algorithm", extended version) or of our own rules that it checks.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Message, MsgApp, MsgAppResp } from "../../../src/consensus/index.ts";
import { bytes, drain, entry, handle, makeLeader, makeNode } from "./harness.ts";

const appResp = (m: Message) => m as MsgAppResp;

test("§5.2: a follower that hears nothing for an election timeout starts an election (PreVote first)", () => {
  const node = makeNode("1", ["1", "2", "3"]);
  let sent: Message[] = [];
  for (let tick = 0; tick < 20 && sent.length === 0; tick++) {
    node.raw.tick();
    sent = drain(node);
  }
  assert.deepEqual(
    sent.map((m) => `${m.type}->${m.to}@${m.term}`),
    ["MsgPreVote->2@1", "MsgPreVote->3@1"],
  );
  assert.equal(node.raw.status().term, 0, "PreVote does not change the term");
});

test("§5.2: each server votes for at most one candidate in a given term, first come first served", () => {
  const node = makeNode("1", ["1", "2", "3"], { checkQuorum: false });
  node.raw.step({ type: "MsgVote", from: "2", to: "1", term: 1, lastIndex: 0, lastTerm: 0, force: false });
  node.raw.step({ type: "MsgVote", from: "3", to: "1", term: 1, lastIndex: 0, lastTerm: 0, force: false });
  const answers = drain(node).map((m) => `${m.to}:${"reject" in m && m.reject ? "reject" : "grant"}`);
  assert.deepEqual(answers, ["2:grant", "3:reject"]);
  assert.equal(node.storage.hardState().vote, "2", "the vote is persisted before the answer is sent");
});

test("§5.4.1: the voter denies its vote if its own log is more up-to-date than the candidate's", () => {
  const node = makeNode("1", ["1", "2", "3"], { checkQuorum: false });
  node.storage.append([entry(1, 1, "signature"), entry(2, 2)]);
  const fresh = makeNode("1", ["1", "2", "3"], { checkQuorum: false }, node.storage);
  fresh.raw.step({ type: "MsgVote", from: "2", to: "1", term: 3, lastIndex: 5, lastTerm: 1, force: false });
  const [answer] = drain(fresh);
  assert.equal(answer?.type === "MsgVoteResp" && answer.reject, true);
});

test("§5.3: the follower refuses entries whose predecessor it lacks, with a hint (conflict term, first index)", () => {
  const node = makeNode("2", ["1", "2", "3"]);
  node.storage.append([entry(1, 1, "signature"), entry(2, 2), entry(3, 2)]);
  const follower = makeNode("2", ["1", "2", "3"], {}, node.storage);
  const app: MsgApp = {
    type: "MsgApp",
    from: "1",
    to: "2",
    term: 4,
    prevIndex: 3,
    prevTerm: 3,
    entries: [],
    commit: 1,
  };
  follower.raw.step(app);
  const reply = appResp(drain(follower).find((m) => m.type === "MsgAppResp")!);
  assert.deepEqual([reply.reject, reply.index, reply.conflictTerm, reply.conflictIndex], [true, 3, 2, 2]);
});

test("§5.3: a conflicting entry and all that follow it are deleted (Ready.rollbackTo)", () => {
  const node = makeNode("2", ["1", "2", "3"]);
  node.storage.append([entry(1, 1, "signature"), entry(2, 1), entry(3, 1)]);
  const follower = makeNode("2", ["1", "2", "3"], {}, node.storage);
  const entries = [entry(2, 2, "signature")];
  follower.raw.step({
    type: "MsgApp",
    from: "1",
    to: "2",
    term: 2,
    prevIndex: 1,
    prevTerm: 1,
    entries,
    commit: 1,
  });
  const rd = handle(follower);
  assert.equal(rd.rollbackTo, 1);
  assert.deepEqual(
    rd.entries.map((e) => `${e.term}/${e.index}`),
    ["2/2"],
  );
  assert.equal(follower.storage.lastIndex(), 2);
  assert.ok(rd.mustSync);
});

test("ours: data entries on every node are not committed until a signature covers them", () => {
  const leader = makeLeader();
  for (let k = 0; k < 3; k++) leader.raw.propose({ kind: "data", payload: bytes(`d${k}`) });
  drain(leader);
  const ack = (index: number) => {
    for (const from of ["2", "3"]) {
      leader.raw.step({
        type: "MsgAppResp",
        from,
        to: "1",
        term: 1,
        index,
        reject: false,
        conflictTerm: 0,
        conflictIndex: 0,
      });
    }
    drain(leader);
  };
  ack(3);
  assert.equal(leader.raw.status().commit, 0);
  leader.raw.propose({ kind: "signature", payload: bytes("sig") });
  drain(leader);
  ack(4);
  assert.equal(leader.raw.status().commit, 4);
  assert.deepEqual(
    leader.committed.map((e) => e.index),
    [1, 2, 3, 4],
  );
});

test("§5.4.2: a leader never commits an entry from a previous term by counting replicas", () => {
  const storage = makeNode("1", ["1", "2", "3"]).storage;
  storage.append([entry(1, 1, "signature")]);
  storage.setHardState({ term: 1, vote: null, commit: 0 });
  const node = makeNode("1", ["1", "2", "3"], { preVote: false }, storage);
  node.raw.campaign();
  drain(node);
  for (const from of ["2", "3"])
    node.raw.step({ type: "MsgVoteResp", from, to: "1", term: 2, reject: false, commit: 0, commitTerm: 0 });
  drain(node);
  for (const from of ["2", "3"]) {
    node.raw.step({
      type: "MsgAppResp",
      from,
      to: "1",
      term: 2,
      index: 1,
      reject: false,
      conflictTerm: 0,
      conflictIndex: 0,
    });
  }
  drain(node);
  assert.equal(node.raw.status().role, "leader");
  assert.equal(node.raw.status().commit, 0, "the term-1 signature is on all three nodes but not committed");
});

test("ours: a new leader rolls back its unsigned suffix to its last signature before appending", () => {
  const storage = makeNode("1", ["1", "2", "3"]).storage;
  storage.append([entry(1, 1, "signature"), entry(2, 1), entry(3, 1)]);
  storage.setHardState({ term: 1, vote: null, commit: 1 });
  const node = makeNode("1", ["1", "2", "3"], { preVote: false }, storage);
  node.raw.campaign();
  drain(node);
  for (const from of ["2", "3"])
    node.raw.step({ type: "MsgVoteResp", from, to: "1", term: 2, reject: false, commit: 1, commitTerm: 1 });
  const rd = handle(node);
  assert.equal(rd.softState?.role, "leader");
  assert.equal(rd.rollbackTo, 1);
  assert.equal(storage.lastIndex(), 1);
  const result = node.raw.propose({ kind: "signature", payload: bytes("s") });
  assert.deepEqual(result, { ok: true, index: 2, term: 2 });
});

test("§6 (thesis): CheckQuorum — a leader that hears from no quorum for an election timeout steps down", () => {
  const leader = makeLeader();
  for (let tick = 0; tick < 25; tick++) {
    leader.raw.tick();
    drain(leader);
  }
  assert.equal(leader.raw.status().role, "follower");
});

test("§9.6 (thesis): PreVote — a node in a leader's lease ignores vote requests of a higher term", () => {
  const node = makeNode("2", ["1", "2", "3"]);
  node.raw.step({ type: "MsgHeartbeat", from: "1", to: "2", term: 1, commit: 0 });
  drain(node);
  node.raw.step({ type: "MsgPreVote", from: "3", to: "2", term: 2, lastIndex: 9, lastTerm: 1, force: false });
  assert.deepEqual(drain(node), [], "ignored: the leader was heard from within an election timeout");
  assert.equal(node.raw.status().term, 1);
});
