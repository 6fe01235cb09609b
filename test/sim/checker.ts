import type { Entry, NodeId } from "../../src/consensus/index.ts";

/** A broken safety property. The simulator exits with `exitCodes.safety` when one is thrown. */
export class SafetyViolation extends Error {
  override name = "SafetyViolation";
}

/** A node's view as the checker sees it after each step. */
export type NodeView = {
  id: NodeId;
  term: number;
  role: string;
  commit: number;
  firstIndex: number;
  lastIndex: number;
  /** Entries [from, to] of the node's current log (persisted or not). */
  entries(from: number, to: number): readonly Entry[];
  isCommitPoint(index: number): boolean;
};

/** The identity of an entry: two entries are "the same" exactly when these strings are equal. */
export function identity(e: Entry): string {
  const conf = e.configuration === undefined ? "" : `[${e.configuration.join(",")}]`;
  return `${e.term}/${e.kind}/${new TextDecoder().decode(e.payload)}${conf}`;
}

function fail(message: string): never {
  throw new SafetyViolation(message);
}

/**
 * Checks Raft's safety properties (Figure 3 of the paper) plus ours, incrementally so that it can
 * run after every simulator step:
 * - election safety: at most one leader per term;
 * - log matching: one (index, term) pair names one entry with one predecessor term, everywhere;
 * - leader completeness: a new leader holds every committed entry;
 * - state machine safety: no two nodes apply different entries at one index;
 * - committed prefix never lost: a restarted node's persisted log still holds what it committed;
 * - commit index monotonic (per node, also across restarts for the persisted one);
 * - commits only at signature entries;
 * - durable quorum: when a leader's commit index moves to i, a quorum of every active
 *   configuration holds entry i on its disk (synced, or under a snapshot). The properties above
 *   notice a commit counted on an unsynced copy only if a crash then loses it and an election
 *   overwrites it; this one notices the count itself.
 */
export class Checker {
  readonly leaders = new Map<number, NodeId>();
  readonly committed = new Map<number, string>();
  readonly #logRegistry = new Map<string, string>();
  readonly #lastCommit = new Map<NodeId, number>();
  readonly #persistedCommit = new Map<NodeId, number>();
  maxCommitted = 0;

  onLeader(view: NodeView): void {
    const previous = this.leaders.get(view.term);
    if (previous !== undefined && previous !== view.id) {
      fail(`election safety: ${previous} and ${view.id} both lead term ${view.term}`);
    }
    this.leaders.set(view.term, view.id);
    const from = Math.max(view.firstIndex, 1);
    const to = Math.min(this.maxCommitted, view.lastIndex);
    const entries = from <= to ? view.entries(from, to) : [];
    for (let i = from; i <= this.maxCommitted; i++) {
      const want = this.committed.get(i);
      const got = entries[i - from];
      if (want !== undefined && (got === undefined || identity(got) !== want)) {
        fail(`leader completeness: leader ${view.id} of term ${view.term} lacks committed ${i} (${want})`);
      }
    }
  }

  /** Entries a node just persisted; `prevTerm(i)` is its persisted term at index i. */
  onPersist(id: NodeId, entries: readonly Entry[], prevTerm: (index: number) => number | undefined): void {
    for (const e of entries) {
      const key = `${e.index}|${e.term}`;
      const value = `${identity(e)}|prev=${prevTerm(e.index - 1)}`;
      const known = this.#logRegistry.get(key);
      if (known === undefined) this.#logRegistry.set(key, value);
      else if (known !== value)
        fail(`log matching: ${id} holds ${key} as ${value}, another node as ${known}`);
    }
  }

  /** An entry the node applies as committed (or that a snapshot it installed covers). */
  onApply(id: NodeId, index: number, entryIdentity: string): void {
    const known = this.committed.get(index);
    if (known === undefined) this.committed.set(index, entryIdentity);
    else if (known !== entryIdentity) {
      fail(`state machine safety: ${id} applies ${entryIdentity} at ${index}, another node ${known}`);
    }
    this.maxCommitted = Math.max(this.maxCommitted, index);
  }

  /** The node's in-memory commit index after a step; `life` changes when it restarts. */
  onCommitIndex(view: NodeView): void {
    const last = this.#lastCommit.get(view.id) ?? 0;
    if (view.commit < last) fail(`commit monotonic: ${view.id} commit went from ${last} to ${view.commit}`);
    this.#lastCommit.set(view.id, view.commit);
    if (view.commit > 0 && !view.isCommitPoint(view.commit)) {
      fail(`signature commit: ${view.id} commit ${view.commit} is not at a signature entry`);
    }
  }

  /**
   * A leader's commit index moved to `view.commit`: `onDisk(id)` says whether node `id` holds that
   * entry durably, `configurations` are the leader's active ones, each of which needs a quorum.
   */
  onLeaderCommit(
    view: NodeView,
    configurations: readonly (readonly NodeId[])[],
    onDisk: (id: NodeId) => boolean,
  ): void {
    for (const members of configurations) {
      const holders = members.filter(onDisk);
      if (2 * holders.length <= members.length) {
        fail(
          `durable quorum: leader ${view.id} of term ${view.term} committed ${view.commit} held on disk by [${holders.join(",")}] of [${members.join(",")}]`,
        );
      }
    }
  }

  onPersistedCommit(id: NodeId, commit: number): void {
    const last = this.#persistedCommit.get(id) ?? 0;
    if (commit < last) fail(`persisted commit monotonic: ${id} from ${last} to ${commit}`);
    this.#persistedCommit.set(id, commit);
  }

  /** On restart the in-memory commit restarts from the persisted one, which must still be on disk. */
  onRestart(id: NodeId, persistedLog: readonly Entry[], persistedCommit: number, firstIndex: number): void {
    this.#lastCommit.set(id, this.#persistedCommit.get(id) ?? 0);
    for (let i = firstIndex; i <= persistedCommit; i++) {
      const e = persistedLog[i - firstIndex];
      if (e === undefined) fail(`committed prefix lost: ${id} restarted without its committed entry ${i}`);
      const want = this.committed.get(i);
      if (want !== undefined && want !== identity(e)) {
        fail(`committed prefix lost: ${id} restarted with ${identity(e)} at committed ${i}, not ${want}`);
      }
    }
  }
}
