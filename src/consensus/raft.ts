import { assert, unreachable } from "../util/assert.ts";
import type { RaftConfig } from "./config.ts";
import { campaign, handleVoteRequest, handleVoteResponse } from "./election.ts";
import { handleAppend, handleHeartbeat, handleSnapshot } from "./follower.ts";
import { RaftLog } from "./log.ts";
import { Progress } from "./progress.ts";
import { jointQuorumActive } from "./quorum.ts";
import {
  bcastAppend,
  bcastHeartbeat,
  handleAppendResponse,
  handleHeartbeatResponse,
  tickProgress,
} from "./replication.ts";
import type { Storage } from "./storage.ts";
import type { Message, NodeId, Role } from "./types.ts";

/**
 * The Raft state machine. Inputs are `tick`, `step` and the leader's append; outputs accumulate in
 * `messages` and in `log` until RawNode hands them to the caller in a Ready. Deterministic: the only
 * source of randomness is the injected `random` (election timeout jitter).
 */
export class Raft {
  readonly config: RaftConfig;
  readonly id: NodeId;
  readonly log: RaftLog;
  readonly random: () => number;
  term: number;
  vote: NodeId | null;
  role: Role = "follower";
  leader: NodeId | null = null;
  electionElapsedTicks = 0;
  heartbeatElapsedTicks = 0;
  randomizedElectionTimeoutTicks = 0;
  /**
   * Leader only: replication state of every voter of an active configuration (itself included),
   * and of followers leaving them (see `syncProgress`).
   */
  progress = new Map<NodeId, Progress>();
  /** Candidate and pre-candidate only: the answers received so far. */
  votes = new Map<NodeId, boolean>();
  leadTransferee: NodeId | null = null;
  /** Leader only: entries were appended since the last broadcast (flushed when a Ready is built). */
  appendPending = false;
  messages: Message[] = [];

  constructor(config: RaftConfig, storage: Storage, random: () => number, applied: number | null) {
    this.config = config;
    this.id = config.id;
    this.random = random;
    this.log = new RaftLog(storage, config.initialConfiguration, applied);
    const hard = storage.hardState();
    this.term = hard.term;
    this.vote = hard.vote;
    this.resetTimers();
  }

  /** The configurations whose quorums decide; the `single-quorum` canary wrongly keeps only the newest. */
  decidingConfigurations(): readonly (readonly NodeId[])[] {
    const active = this.log.configurations.active();
    return this.config.canary === "single-quorum" ? [this.log.configurations.latest()] : active;
  }

  /** May this node campaign? Only voters of an active configuration may. */
  promotable(): boolean {
    return this.log.configurations.isVoter(this.id);
  }

  /** With CheckQuorum, a follower that hears from a live leader ignores votes (§6 of the thesis). */
  inLease(): boolean {
    return (
      this.config.checkQuorum &&
      this.leader !== null &&
      this.electionElapsedTicks < this.config.electionTimeoutTicks
    );
  }

  send(message: Message): void {
    assert(
      message.from === this.id && message.to !== this.id,
      () => `bad message envelope ${message.from}->${message.to}`,
    );
    this.messages.push(message);
  }

  resetTimers(): void {
    this.electionElapsedTicks = 0;
    this.heartbeatElapsedTicks = 0;
    const timeout = this.config.electionTimeoutTicks;
    this.randomizedElectionTimeoutTicks = timeout + Math.floor(this.random() * timeout);
  }

  becomeFollower(term: number, leader: NodeId | null): void {
    assert(term >= this.term, "terms never decrease");
    if (term > this.term) {
      this.term = term;
      this.vote = null;
    }
    this.role = "follower";
    this.leader = leader;
    this.leadTransferee = null;
    this.progress.clear();
    this.votes.clear();
    this.resetTimers();
  }

  tick(): void {
    if (this.role === "leader") {
      this.tickLeader();
      return;
    }
    this.electionElapsedTicks++;
    if (this.promotable() && this.electionElapsedTicks >= this.randomizedElectionTimeoutTicks) {
      this.electionElapsedTicks = 0;
      campaign(this, "election");
    }
  }

  private tickLeader(): void {
    this.heartbeatElapsedTicks++;
    this.electionElapsedTicks++;
    if (this.electionElapsedTicks >= this.config.electionTimeoutTicks) {
      this.electionElapsedTicks = 0;
      this.leadTransferee = null;
      if (this.config.checkQuorum && !this.checkQuorumActive()) {
        this.becomeFollower(this.term, null);
        return;
      }
    }
    tickProgress(this);
    if (this.heartbeatElapsedTicks >= this.config.heartbeatIntervalTicks) {
      this.heartbeatElapsedTicks = 0;
      bcastHeartbeat(this);
    }
  }

  /** CheckQuorum: true when a quorum of every active configuration was heard from since last time. */
  private checkQuorumActive(): boolean {
    const active = (id: NodeId) => id === this.id || this.progress.get(id)?.recentActive === true;
    const result = jointQuorumActive(this.decidingConfigurations(), active);
    for (const [id, pr] of this.progress) pr.recentActive = id === this.id;
    return result;
  }

  step(m: Message): void {
    assert(m.to === this.id, () => `message for ${m.to} delivered to ${this.id}`);
    if (m.term > this.term) {
      const isVoteRequest = m.type === "MsgVote" || m.type === "MsgPreVote";
      if (isVoteRequest && !m.force && this.inLease()) return;
      const keepsTerm = m.type === "MsgPreVote" || (m.type === "MsgPreVoteResp" && !m.reject);
      if (!keepsTerm) {
        const fromLeader = m.type === "MsgApp" || m.type === "MsgHeartbeat" || m.type === "MsgSnap";
        this.becomeFollower(m.term, fromLeader ? m.from : null);
      }
    } else if (m.term < this.term) {
      this.answerStale(m);
      return;
    }
    this.stepCurrent(m);
  }

  /** A message from an older term: tell a stale leader or pre-candidate about the newer term. */
  private answerStale(m: Message): void {
    const staleLeader = m.type === "MsgApp" || m.type === "MsgHeartbeat";
    if (staleLeader && (this.config.checkQuorum || this.config.preVote)) {
      const reply = { from: this.id, to: m.from, term: this.term, index: 0, reject: true };
      this.send({ ...reply, type: "MsgAppResp", conflictTerm: 0, conflictIndex: 0 });
    } else if (m.type === "MsgPreVote") {
      const commit = this.log.committed;
      const reply = { from: this.id, to: m.from, term: this.term, reject: true };
      this.send({ ...reply, type: "MsgPreVoteResp", commit, commitTerm: this.log.term(commit) ?? 0 });
    }
  }

  private stepCurrent(m: Message): void {
    switch (m.type) {
      case "MsgVote":
      case "MsgPreVote":
        handleVoteRequest(this, m);
        break;
      case "MsgVoteResp":
      case "MsgPreVoteResp":
        handleVoteResponse(this, m);
        break;
      case "MsgAppResp":
        if (this.role === "leader") handleAppendResponse(this, m);
        break;
      case "MsgHeartbeatResp":
        if (this.role === "leader") handleHeartbeatResponse(this, m);
        break;
      case "MsgApp":
      case "MsgHeartbeat":
      case "MsgSnap":
        this.stepFromLeader(m);
        break;
      case "MsgTimeoutNow":
        if (this.role !== "leader" && this.promotable()) campaign(this, "transfer");
        break;
      default:
        unreachable(m, "message type");
    }
  }

  private stepFromLeader(m: Message & { type: "MsgApp" | "MsgHeartbeat" | "MsgSnap" }): void {
    assert(this.role !== "leader", () => `two leaders in term ${this.term}: ${this.id} and ${m.from}`);
    if (this.role !== "follower") this.becomeFollower(this.term, m.from);
    this.leader = m.from;
    this.electionElapsedTicks = 0;
    if (m.type === "MsgApp") handleAppend(this, m);
    else if (m.type === "MsgHeartbeat") handleHeartbeat(this, m);
    else handleSnapshot(this, m);
  }

  becomeLeader(): void {
    assert(this.role === "candidate", "only a candidate becomes leader");
    this.role = "leader";
    this.leader = this.id;
    this.leadTransferee = null;
    this.votes.clear();
    this.resetTimers();
    // The unsigned suffix after the last signature can never be committed by anyone (commits happen
    // only at signatures of the current term), so the new leader discards it before appending.
    this.log.truncateAfter(this.log.lastSignature());
    if (!this.promotable()) {
      // The rollback removed the unsigned reconfiguration that made us a voter: we must not lead
      // (we could never retire properly). Removing configurations only removes quorum
      // requirements, so the others are unaffected; a voter with a longer log can now be elected.
      this.becomeFollower(this.term, null);
      return;
    }
    this.progress.clear();
    this.syncProgress();
    const self = this.progress.get(this.id);
    if (self !== undefined) self.match = Math.min(this.log.stableLast(), this.log.lastIndex());
    bcastAppend(this);
  }

  /**
   * Leader: tracks the voters of the active configurations, plus itself, and the followers that
   * have just left them (`Progress.leavingCommit`): those keep receiving entries and heartbeats,
   * outside every quorum, until they have heard of the commit that removed them. Without it a
   * removed follower that lagged when its removal committed never learns that it did.
   */
  syncProgress(): void {
    const voters = new Set(this.log.configurations.voters());
    voters.add(this.id);
    for (const [id, pr] of this.progress) {
      if (voters.has(id)) pr.leavingCommit = 0;
      else if (pr.leavingCommit === 0) {
        pr.leavingCommit = Math.max(this.log.committed, 1); // 0 would read as "a voter"
        pr.leavingTicks = 0;
        pr.leavingTold = false;
      }
    }
    const { inflightMessagesMax, inflightBytesMax } = this.config;
    for (const id of voters) {
      if (this.progress.has(id)) continue;
      const pr = new Progress(this.log.lastIndex() + 1, inflightMessagesMax, inflightBytesMax);
      pr.recentActive = true;
      if (id === this.id) pr.becomeReplicate();
      this.progress.set(id, pr);
    }
  }
}
