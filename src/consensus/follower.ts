import { assert } from "../util/assert.ts";
import type { Raft } from "./raft.ts";
import type { MsgApp, MsgHeartbeat, MsgSnap } from "./types.ts";

/**
 * Follower side of AppendEntries. The follower re-checks what the leader promises (contiguous
 * entries, terms not above the leader's, never overwriting a committed entry) and commits only at
 * a signature entry: min(leader commit, last matched index) rounded down to a signature.
 */
export function handleAppend(r: Raft, m: MsgApp): void {
  const log = r.log;
  assert(m.commit >= 0 && m.prevIndex >= 0, "MsgApp indexes are non-negative");
  for (const [k, e] of m.entries.entries()) {
    assert(e.index === m.prevIndex + 1 + k, "MsgApp entries are contiguous after prevIndex");
    assert(
      e.term <= m.term && e.term >= m.prevTerm,
      "MsgApp entry terms lie between prevTerm and the leader's",
    );
  }
  const reply = { type: "MsgAppResp", from: r.id, to: m.from, term: r.term } as const;
  if (m.prevIndex < log.committed) {
    // Already committed here, so it matches; tell the leader where we are.
    r.send({ ...reply, index: log.committed, reject: false, conflictTerm: 0, conflictIndex: 0 });
    return;
  }
  const lastNew = log.maybeAppend(m.prevIndex, m.prevTerm, m.entries);
  if (lastNew !== null) {
    log.commitTo(log.signatureAtOrBelow(Math.min(m.commit, lastNew)));
    r.send({ ...reply, index: lastNew, reject: false, conflictTerm: 0, conflictIndex: 0 });
    return;
  }
  const hint = conflictHint(r, m.prevIndex);
  r.send({ ...reply, index: m.prevIndex, reject: true, ...hint });
}

/** Fast log-divergence resolution: our term at prevIndex and the first index we hold of it. */
function conflictHint(r: Raft, prevIndex: number): { conflictTerm: number; conflictIndex: number } {
  const log = r.log;
  if (prevIndex > log.lastIndex()) return { conflictTerm: 0, conflictIndex: log.lastIndex() + 1 };
  const conflictTerm = log.term(prevIndex);
  assert(conflictTerm !== undefined, "entries after the commit index are never compacted");
  let index = prevIndex;
  while (index - 1 > log.committed && log.term(index - 1) === conflictTerm) index--;
  return { conflictTerm, conflictIndex: index };
}

export function handleHeartbeat(r: Raft, m: MsgHeartbeat): void {
  const log = r.log;
  // The leader sends min(our match, its commit); our log matches its log up to our match.
  log.commitTo(log.signatureAtOrBelow(Math.min(m.commit, log.lastIndex())));
  r.send({ type: "MsgHeartbeatResp", from: r.id, to: m.from, term: r.term });
}

/** InstallSnapshot: fast-forward if we already hold the snapshot's last entry, else replace the log. */
export function handleSnapshot(r: Raft, m: MsgSnap): void {
  const log = r.log;
  const meta = m.snapshot.meta;
  assert(meta.index > 0 && meta.term <= m.term, "snapshot metadata is plausible");
  assert(meta.configuration.length > 0, "a snapshot carries a non-empty configuration");
  const reply = { type: "MsgAppResp", from: r.id, to: m.from, term: r.term, reject: false } as const;
  if (meta.index <= log.committed) {
    r.send({ ...reply, index: log.committed, conflictTerm: 0, conflictIndex: 0 });
    return;
  }
  if (log.matchTerm(meta.index, meta.term)) log.commitTo(meta.index);
  else log.restore(m.snapshot);
  r.send({ ...reply, index: meta.index, conflictTerm: 0, conflictIndex: 0 });
}
