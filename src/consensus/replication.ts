import { assert } from "../util/assert.ts";
import type { Progress } from "./progress.ts";
import { jointMatch } from "./quorum.ts";
import type { Raft } from "./raft.ts";
import { entryBytes } from "./storage.ts";
import type { MsgAppResp, MsgHeartbeatResp, NodeId } from "./types.ts";

/**
 * Leader side of replication: batched, pipelined MsgApps with per-follower flow control, fast
 * divergence resolution from reject hints, snapshots for followers behind the first index, and the
 * commit rule (signature entries of the current term on a quorum of every active configuration).
 */
export function sendAppend(r: Raft, to: NodeId, sendIfEmpty: boolean): boolean {
  const pr = r.progress.get(to);
  if (pr === undefined || to === r.id || pr.isPaused()) return false;
  const log = r.log;
  const prevIndex = pr.next - 1;
  const prevTerm = log.term(prevIndex);
  if (pr.next < log.firstIndex() || prevTerm === undefined) return sendSnapshot(r, to, pr);
  const last = log.lastIndex();
  const entries = pr.next <= last ? log.slice(pr.next, last + 1, r.config.appendBytesMax) : [];
  if (entries.length === 0 && !sendIfEmpty) return false;
  r.send({
    type: "MsgApp",
    from: r.id,
    to,
    term: r.term,
    prevIndex,
    prevTerm,
    entries,
    commit: log.committed,
  });
  if (entries.length > 0) {
    const bytes = entries.reduce((sum, e) => sum + entryBytes(e), 0);
    pr.sentEntries(entries[entries.length - 1]!.index, bytes);
  } else if (pr.state === "probe") {
    pr.probeSent = true;
  }
  return entries.length > 0;
}

function sendSnapshot(r: Raft, to: NodeId, pr: Progress): boolean {
  const snapshot = r.log.storage.snapshot();
  assert(
    snapshot.meta.index > 0,
    () => `follower ${to} needs entries before the first index but there is no snapshot`,
  );
  assert(snapshot.meta.index <= r.log.committed, "the caller snapshots only committed state");
  pr.becomeSnapshot(snapshot.meta.index);
  r.send({ type: "MsgSnap", from: r.id, to, term: r.term, snapshot });
  return false;
}

/** Sends to every follower; empty MsgApps carry a new commit index. */
export function bcastAppend(r: Raft): void {
  r.appendPending = false;
  for (const to of r.progress.keys()) {
    if (to === r.id) continue;
    sendAppend(r, to, true);
    fillWindow(r, to);
  }
}

/** Keeps a follower in replicate state streaming until its inflight window is full. */
function fillWindow(r: Raft, to: NodeId): void {
  for (let k = 0; k < r.config.inflightMessagesMax; k++) if (!sendAppend(r, to, false)) return;
}

export function bcastHeartbeat(r: Raft): void {
  for (const [to, pr] of r.progress) {
    if (to === r.id) continue;
    const commit = Math.min(pr.match, r.log.committed);
    r.send({ type: "MsgHeartbeat", from: r.id, to, term: r.term, commit });
    if (pr.leavingCommit > 0 && commit >= pr.leavingCommit) pr.leavingTold = true;
  }
}

export function handleAppendResponse(r: Raft, m: MsgAppResp): void {
  const pr = r.progress.get(m.from);
  if (pr === undefined) return;
  pr.recentActive = true;
  assert(m.index <= r.log.lastIndex(), () => `follower ${m.from} acknowledges ${m.index} beyond our log`);
  if (m.reject) {
    handleReject(r, pr, m);
    return;
  }
  const updated = pr.maybeUpdate(m.index);
  // A probe answered at exactly our match (e.g. the first, empty one) also proves where we agree.
  const probeAcked = pr.state === "probe" && m.index === pr.match && m.index === pr.next - 1;
  if (!updated && !probeAcked) return;
  if (pr.state !== "replicate") pr.becomeReplicate();
  // A commit advance is not broadcast on its own (except a reconfiguration's, see commitOnce):
  // followers learn it from the next MsgApp (the next signature's round) or heartbeat, instead of
  // one empty MsgApp and answer per follower per round (docs/consensus.md).
  if (updated) maybeCommit(r);
  if (r.role === "leader") fillWindow(r, m.from);
  if (r.role === "leader" && m.from === r.leadTransferee && pr.match === r.log.lastIndex()) {
    sendTimeoutNow(r, m.from);
  }
}

function handleReject(r: Raft, pr: Progress, m: MsgAppResp): void {
  const stale = pr.state === "replicate" ? m.index <= pr.match : m.index !== pr.next - 1;
  if (stale || pr.state === "snapshot") return;
  const log = r.log;
  let next = m.conflictIndex;
  if (m.conflictTerm > 0) {
    let j = Math.min(m.index, log.lastIndex());
    for (let t = log.term(j); t !== undefined && t > m.conflictTerm; t = log.term(j)) j--;
    if (log.term(j) === m.conflictTerm) next = j + 1;
  }
  pr.becomeProbe();
  pr.next = Math.max(pr.match + 1, Math.min(next, m.index));
  sendAppend(r, m.from, true);
}

export function handleHeartbeatResponse(r: Raft, m: MsgHeartbeatResp): void {
  const pr = r.progress.get(m.from);
  if (pr === undefined) return;
  pr.recentActive = true;
  pr.probeSent = false;
  // The follower is alive: let one more MsgApp through even if the window is full of lost ones.
  if (pr.state === "replicate" && pr.inflights.full()) {
    pr.inflights.freeFirst();
    sendAppend(r, m.from, false);
  }
  if (pr.state === "probe" && pr.match < r.log.lastIndex()) sendAppend(r, m.from, true);
}

/**
 * Per-tick flow-control timers: a snapshot unacknowledged for `snapshotTimeoutTicks`, or a follower
 * in replicate state whose match has not moved for an election timeout while entries are
 * outstanding (the last MsgApps were lost, so no later one reveals the gap), goes back to probe.
 */
export function tickProgress(r: Raft): void {
  const last = r.log.lastIndex();
  for (const [id, pr] of r.progress) {
    if (id === r.id) continue;
    // A follower that left the configurations is forgotten once told of the commit that removed
    // it, or after `leavingTicksMax` (it is down, or too far behind to matter).
    if (pr.leavingCommit > 0 && (pr.leavingTold || ++pr.leavingTicks >= leavingTicksMax(r))) {
      r.progress.delete(id);
      continue;
    }
    if (pr.state === "snapshot" && ++pr.snapshotElapsedTicks >= r.config.snapshotTimeoutTicks)
      pr.becomeProbe();
    if (pr.state !== "replicate" || pr.match >= last) {
      pr.stalledTicks = 0;
    } else if (++pr.stalledTicks >= r.config.electionTimeoutTicks) {
      pr.becomeProbe();
      sendAppend(r, id, true);
    }
  }
}

/** Ticks a leader keeps replicating to a follower that left the configurations (4 election timeouts). */
function leavingTicksMax(r: Raft): number {
  return 4 * r.config.electionTimeoutTicks;
}

/**
 * The commit rule: the largest signature index replicated on a quorum of every active configuration,
 * and only if that signature is of the current term (Raft §5.4.2; the `commit-previous-term` canary
 * drops this check). Returns true when the commit index advanced.
 */
export function maybeCommit(r: Raft): boolean {
  // Committing a reconfiguration retires the old configuration, which may allow a further commit.
  let advanced = false;
  for (let rounds = 0; r.role === "leader" && commitOnce(r); rounds++) {
    assert(rounds <= r.log.lastIndex(), "every commit round advances the commit index");
    advanced = true;
  }
  return advanced;
}

function commitOnce(r: Raft): boolean {
  const log = r.log;
  const matchOf = (id: NodeId) => r.progress.get(id)?.match ?? 0;
  const quorumIndex = jointMatch(r.decidingConfigurations(), matchOf);
  const candidate = log.signatureAtOrBelow(quorumIndex);
  if (candidate <= log.committed) return false;
  if (log.term(candidate) !== r.term && r.config.canary !== "commit-previous-term") return false;
  const configurations = log.configurations.active().length;
  log.commitTo(candidate);
  // A committed reconfiguration is announced at once (the next Ready broadcasts): until followers
  // learn it, they still need a quorum of the old configuration as well to elect anyone.
  if (log.configurations.active().length < configurations) r.appendPending = true;
  r.syncProgress();
  if (!log.configurations.isVoter(r.id)) retire(r);
  return true;
}

/**
 * A leader removed by a reconfiguration leads until that reconfiguration commits, then steps down,
 * handing leadership to the most up-to-date remaining voter.
 */
function retire(r: Raft): void {
  bcastAppend(r);
  let best: NodeId | null = null;
  for (const [id, pr] of r.progress) {
    if (id === r.id || pr.match !== r.log.lastIndex() || pr.leavingCommit > 0) continue;
    if (best === null || id < best) best = id;
  }
  if (best !== null) sendTimeoutNow(r, best);
  r.becomeFollower(r.term, null);
}

export function sendTimeoutNow(r: Raft, to: NodeId): void {
  r.send({ type: "MsgTimeoutNow", from: r.id, to, term: r.term });
}
