import { assert } from "../util/assert.ts";
import { jointVoteResult } from "./quorum.ts";
import type { Raft } from "./raft.ts";
import type { MsgVote, MsgVoteResp } from "./types.ts";

/**
 * Starts an election. With PreVote (and not `force`), first asks whether a quorum would vote for
 * us at term + 1 without changing our term, so a node returning from a partition cannot disrupt a
 * healthy leader (thesis §9.6). A `transfer` campaign (MsgTimeoutNow) skips PreVote and leases.
 */
export type CampaignMode = "election" | "after-pre-vote" | "transfer";

export function campaign(r: Raft, mode: CampaignMode): void {
  assert(r.promotable(), "only a voter campaigns");
  const pre = r.config.preVote && mode === "election";
  const force = mode === "transfer";
  if (pre) {
    r.role = "pre-candidate";
    r.leader = null;
    r.resetTimers();
  } else {
    r.becomeFollower(r.term + 1, null);
    r.role = "candidate";
    r.vote = r.id;
  }
  r.votes.clear();
  r.votes.set(r.id, true);
  const term = pre ? r.term + 1 : r.term;
  const lastIndex = r.log.lastIndex();
  const lastTerm = r.log.lastTerm();
  const type = pre ? "MsgPreVote" : "MsgVote";
  for (const to of r.log.configurations.voters()) {
    if (to === r.id) continue;
    r.send({ type, from: r.id, to, term, lastIndex, lastTerm, force });
  }
  tally(r);
}

/** Grants a vote to an up-to-date candidate (§5.4.1) if we have not voted for another this term. */
export function handleVoteRequest(r: Raft, m: MsgVote): void {
  const pre = m.type === "MsgPreVote";
  const canVote = r.vote === m.from || (r.vote === null && r.leader === null) || (pre && m.term > r.term);
  const type = pre ? "MsgPreVoteResp" : "MsgVoteResp";
  const commit = r.log.committed;
  const known = { commit, commitTerm: r.log.term(commit) ?? 0 };
  if (canVote && r.log.isUpToDate(m.lastIndex, m.lastTerm)) {
    r.send({ type, from: r.id, to: m.from, term: m.term, reject: false, ...known });
    if (!pre) {
      assert(m.term === r.term, "a vote is granted in the current term");
      r.vote = m.from;
      r.electionElapsedTicks = 0;
    }
  } else {
    r.send({ type, from: r.id, to: m.from, term: r.term, reject: true, ...known });
  }
}

export function handleVoteResponse(r: Raft, m: MsgVoteResp): void {
  learnCommit(r, m);
  const expected =
    r.role === "pre-candidate" ? "MsgPreVoteResp" : r.role === "candidate" ? "MsgVoteResp" : null;
  if (m.type !== expected) return;
  r.votes.set(m.from, !m.reject);
  tally(r);
}

/**
 * If the voter committed an entry that we hold too (same index and term), our log equals its log up
 * to there (Log Matching), so that prefix is committed here as well.
 */
function learnCommit(r: Raft, m: MsgVoteResp): void {
  const log = r.log;
  if (m.commit <= log.committed || !log.matchTerm(m.commit, m.commitTerm)) return;
  log.commitTo(log.signatureAtOrBelow(m.commit));
  if (r.role !== "leader" && r.role !== "follower" && !r.promotable()) r.becomeFollower(r.term, null);
}

function tally(r: Raft): void {
  const result = jointVoteResult(r.decidingConfigurations(), r.votes);
  if (result === "pending") return;
  if (result === "lost") r.becomeFollower(r.term, null);
  else if (r.role === "pre-candidate") campaign(r, "after-pre-vote");
  else r.becomeLeader();
}
