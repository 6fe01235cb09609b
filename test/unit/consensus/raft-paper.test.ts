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

test("§5.1: a leader that discovers its term is out of date immediately reverts to follower", () => {
  const leader = makeLeader();
  leader.raw.step({ type: "MsgHeartbeatResp", from: "2", to: "1", term: 5 });
  drain(leader);
  const status = leader.raw.basicStatus();
  assert.deepEqual([status.role, status.term], ["follower", 5]);
});

test("§5.2: a candidate that receives AppendEntries from a leader of its term returns to follower", () => {
  const node = makeNode("1", ["1", "2", "3"], { preVote: false });
  node.raw.campaign();
  drain(node);
  assert.equal(node.raw.basicStatus().role, "candidate");
  node.raw.step({
    type: "MsgApp",
    from: "2",
    to: "1",
    term: 1,
    prevIndex: 0,
    prevTerm: 0,
    entries: [],
    commit: 0,
  });
  drain(node);
  assert.deepEqual([node.raw.basicStatus().role, node.raw.basicStatus().leader], ["follower", "2"]);
});

test("§5.2: a candidate wins with votes from a majority (and loses once a majority refuses)", () => {
  const node = makeNode("1", ["1", "2", "3", "4", "5"], { preVote: false });
  node.raw.campaign();
  drain(node);
  const answer = (from: string, reject: boolean) =>
    node.raw.step({ type: "MsgVoteResp", from, to: "1", term: 1, reject, commit: 0, commitTerm: 0 });
  answer("2", true);
  answer("3", false);
  assert.equal(node.raw.basicStatus().role, "candidate", "2 of 5 is not a majority");
  answer("4", true);
  answer("5", true);
  assert.equal(node.raw.basicStatus().role, "follower", "3 refusals: the election is lost");
});

test("ours: a candidate learns from a vote answer that its reconfiguration committed, and wins alone", () => {
  // Node 3 holds [conf [3] at 2, signature at 3] but missed that they committed, so it still
  // believes [1,2,3] is active too, and 1 and 2 (retired, longer logs) refuse to vote for it.
  const storage = makeNode("3", ["1", "2", "3"]).storage;
  const conf = { ...entry(2, 1, "reconfiguration"), configuration: ["3"] };
  storage.append([entry(1, 1, "signature"), conf, entry(3, 1, "signature")]);
  storage.setHardState({ term: 1, vote: null, commit: 1 });
  const node = makeNode("3", ["1", "2", "3"], {}, storage);
  assert.deepEqual(node.raw.status().configurations, [["1", "2", "3"], ["3"]]);
  node.raw.campaign();
  drain(node);
  node.raw.step({
    type: "MsgPreVoteResp",
    from: "1",
    to: "3",
    term: 1,
    reject: true,
    commit: 3,
    commitTerm: 1,
  });
  drain(node);
  const status = node.raw.status();
  assert.deepEqual(status.configurations, [["3"]]);
  assert.deepEqual([status.role, status.commit], ["leader", 3]);
});

test("ours: a winner whose rollback removes the reconfiguration that made it a voter does not lead", () => {
  // Found by the simulator (seed 21525 before the fix): 7 led without being a voter, then after a
  // crash nobody could be elected.
  const storage = makeNode("7", ["1"]).storage;
  const conf = { ...entry(2, 1, "reconfiguration"), configuration: ["1", "7"] };
  storage.append([entry(1, 1, "signature"), conf]);
  storage.setHardState({ term: 1, vote: null, commit: 1 });
  const node = makeNode("7", ["1"], { preVote: false }, storage);
  node.raw.campaign();
  drain(node);
  node.raw.step({
    type: "MsgVoteResp",
    from: "1",
    to: "7",
    term: 2,
    reject: false,
    commit: 1,
    commitTerm: 1,
  });
  const rd = handle(node);
  assert.equal(rd.rollbackTo, 1);
  assert.equal(node.raw.basicStatus().role, "follower");
  assert.deepEqual(node.raw.status().configurations, [["1"]]);
});
