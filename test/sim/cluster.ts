import {
  describeMessage,
  type Entry,
  type EntryProposal,
  MemoryStorage,
  type Message,
  type NodeId,
  type RaftConfigInput,
  RawNode,
  type Ready,
  seededRandom,
} from "../../src/consensus/index.ts";
import { assert } from "../../src/util/assert.ts";
import { Checker, identity, type NodeView } from "./checker.ts";

/** One simulated node: its "disk" (MemoryStorage) survives a crash; everything else does not. */
export class SimNode {
  readonly id: NodeId;
  readonly storage = new MemoryStorage();
  raw: RawNode | null = null;
  /** Identities of applied entries, index i at position i - 1 (the simulated state machine). */
  applied: string[] = [];
  /** The configuration at the applied index (goes into snapshots). */
  appliedConfiguration: readonly NodeId[] = [];
  /** Inputs were fed since the last Ready was processed (lost on a crash). */
  dirty = false;
  /**
   * A leader's appended entries whose sync it did not wait for (`deferLeaderSync`), in the order
   * written, each with its write's serial: visible in storage, lost on a crash, durable once the
   * deferred flush issued after them returns (`completeSync`) or a Ready that does sync runs.
   */
  unsynced: Array<{ entry: Entry; serial: number }> = [];
  /** Serial of the last write (see `unsynced`). */
  writes = 0;
  /**
   * The deferred flushes in flight, oldest first, each with the `persisted(index, term)` it owes
   * the core and the serial of the last write it covers. `completeSync` returns the oldest, as the
   * node's flushes return in order: it makes durable only what was written before it was issued,
   * and its notice may arrive after a later sync, a rollback, a step-down or a new term (stale),
   * with entries written since at the indexes it names still unsynced; the core must ignore what
   * no longer holds.
   */
  owedPersisted: Array<{ index: number; term: number; serial: number }> = [];
  constructor(id: NodeId) {
    this.id = id;
  }
}

export type InFlight = { message: Message; deliverAt: number };

export type ClusterOptions = {
  ids: readonly NodeId[];
  seed: number;
  config?: Partial<Omit<RaftConfigInput, "id" | "initialConfiguration">>;
  /** Called with every message sent, already rendered (scenario output, verbose runs). */
  onSend?: (line: string) => void;
  /** Called with notable events (elections, crashes) for verbose runs. */
  onEvent?: (line: string) => void;
  /** The simulated caller proposes a signature as soon as it becomes leader (what the node does). */
  signOnElection?: boolean;
  /**
   * A leader does not wait for its sync when the Ready allows it (what the node does): it calls
   * `advance(ready, { durable: false })`, and `persisted()` once `completeSync` runs.
   */
  deferLeaderSync?: boolean;
};

const encoder = new TextEncoder();
const readyRoundsMax = 64;

/**
 * A set of simulated nodes plus a network of in-flight messages, driven step by step by the random
 * simulator or by a scenario file. Acts as the consensus caller: follows the Ready contract, keeps
 * the simulated disk, and reports every effect to the safety Checker.
 */
export class Cluster {
  readonly nodes = new Map<NodeId, SimNode>();
  readonly checker = new Checker();
  readonly initialConfiguration: readonly NodeId[];
  readonly options: ClusterOptions;
  readonly random: () => number;
  inFlight: InFlight[] = [];
  /** Delay given to each message sent; the random simulator varies it. */
  delayTicks: () => number = () => 0;
  now = 0;
  /** Partition group per node; messages only flow within a group. Absent: group 0. */
  groups = new Map<NodeId, number>();
  #proposalCounter = 0;
  #restarts = 0;
  /** Each leader's term and commit index when last seen, to notice the commits it decides. */
  #leaderCommit = new Map<NodeId, { term: number; commit: number }>();

  constructor(options: ClusterOptions) {
    this.options = options;
    this.initialConfiguration = [...options.ids];
    this.random = seededRandom(options.seed);
    for (const id of options.ids) this.addNode(id);
  }

  addNode(id: NodeId): SimNode {
    assert(!this.nodes.has(id), `node ${id} exists`);
    const node = new SimNode(id);
    this.nodes.set(id, node);
    this.#start(node);
    return node;
  }

  #start(node: SimNode): void {
    const seed = Math.floor(this.random() * 2 ** 31) ^ this.#restarts++;
    node.raw = new RawNode({
      config: {
        electionTimeoutTicks: 10,
        ...this.options.config,
        id: node.id,
        initialConfiguration: this.initialConfiguration,
      },
      storage: node.storage,
      random: seededRandom(seed),
    });
    const snapshot = node.storage.snapshot();
    node.applied = snapshot.meta.index > 0 ? JSON.parse(new TextDecoder().decode(snapshot.payload)) : [];
    node.appliedConfiguration =
      snapshot.meta.index > 0 ? snapshot.meta.configuration : this.initialConfiguration;
  }

  alive(id: NodeId): boolean {
    return this.nodes.get(id)?.raw !== null;
  }

  crash(id: NodeId): void {
    const node = this.nodes.get(id)!;
    node.raw = null;
    node.dirty = false;
    this.#leaderCommit.delete(id);
    // What was never synced is lost, and the persisted commit never points past the disk's log
    // (the node writes it clamped as `#persistedCommit` does).
    const first = node.unsynced[0];
    if (first !== undefined) node.storage.truncateAfter(first.entry.index - 1);
    node.unsynced = [];
    node.owedPersisted = [];
    const hard = node.storage.hardState();
    node.storage.setHardState({ ...hard, commit: this.#persistedCommit(node, hard.commit) });
    this.options.onEvent?.(`crash ${id}`);
  }

  restart(id: NodeId): void {
    const node = this.nodes.get(id)!;
    assert(node.raw === null, `restart of running node ${id}`);
    const hard = node.storage.hardState();
    this.checker.onRestart(id, node.storage.allEntries(), hard.commit, node.storage.firstIndex());
    this.#start(node);
    this.options.onEvent?.(`restart ${id}`);
  }

  tick(id: NodeId): void {
    const node = this.nodes.get(id)!;
    if (node.raw === null) return;
    node.raw.tick();
    node.dirty = true;
  }

  /** Sends a message into the network with a delivery time `delayTicks` from now. */
  enqueue(message: Message, delayTicks: number): void {
    this.inFlight.push({ message, deliverAt: this.now + delayTicks });
  }

  connected(a: NodeId, b: NodeId): boolean {
    return (this.groups.get(a) ?? 0) === (this.groups.get(b) ?? 0);
  }

  /** Delivers in-flight message `k` (dropped if the receiver is down or partitioned away). */
  deliver(k: number): void {
    const [item] = this.inFlight.splice(k, 1);
    assert(item !== undefined, "deliver of a message in flight");
    const { message } = item;
    const node = this.nodes.get(message.to);
    if (node?.raw == null || !this.connected(message.from, message.to)) return;
    node.raw.step(message);
    node.dirty = true;
  }

  /** Delivers everything deliverable now, in order, processing Ready between rounds (bounded). */
  deliverAllNow(roundsMax: number): void {
    for (let round = 0; round < roundsMax; round++) {
      this.processAll();
      const due = this.inFlight.filter((m) => m.deliverAt <= this.now);
      if (due.length === 0) return;
      this.inFlight = this.inFlight.filter((m) => m.deliverAt > this.now);
      for (const item of due) {
        this.inFlight.unshift(item);
        this.deliver(0);
      }
    }
    this.processAll();
  }

  propose(id: NodeId, proposal: EntryProposal): boolean {
    const node = this.nodes.get(id)!;
    if (node.raw === null) return false;
    if (proposal.kind === "reconfiguration") {
      for (const member of proposal.configuration!) if (!this.nodes.has(member)) this.addNode(member);
    }
    const result = node.raw.propose(proposal);
    node.dirty = true;
    return result.ok;
  }

  transferLeadership(from: NodeId, to: NodeId): boolean {
    const node = this.nodes.get(from)!;
    if (node.raw === null) return false;
    node.dirty = true;
    return node.raw.transferLeadership(to);
  }

  /**
   * A leader's oldest deferred flush returns (all of them with `all`): what was written before it
   * was issued is durable, and the core hears its `persisted(index, term)`, perhaps stale by now.
   */
  completeSync(id: NodeId, options: { all?: boolean } = {}): void {
    const node = this.nodes.get(id)!;
    const raw = node.raw;
    if (raw === null) return;
    do {
      const flush = node.owedPersisted.shift();
      if (flush === undefined) return;
      const covered = node.unsynced.filter((u) => u.serial <= flush.serial);
      if (covered.length > 0) {
        node.unsynced = node.unsynced.slice(covered.length);
        this.#persist(node, covered);
      }
      raw.persisted(flush.index, flush.term);
      node.dirty = true;
    } while (options.all === true);
  }

  hasUnsynced(id: NodeId): boolean {
    return this.alive(id) && (this.nodes.get(id)?.unsynced.length ?? 0) > 0;
  }

  #synced(node: SimNode): void {
    this.#persist(node, node.unsynced);
    node.unsynced = [];
  }

  #persist(node: SimNode, written: SimNode["unsynced"]): void {
    const entries = written.map((u) => u.entry);
    this.checker.onPersist(node.id, entries, (i) => node.storage.term(i));
  }

  /** The last index on the node's disk (not counting a leader's unsynced entries). */
  #durableLast(node: SimNode): number {
    return node.storage.lastIndex() - node.unsynced.length;
  }

  /**
   * The commit the node writes for `commit` (raft-storage.ts): within its durable log and at a
   * signature, so the last signature on disk when the commit runs ahead of the disk.
   */
  #persistedCommit(node: SimNode, commit: number): number {
    const base = node.storage.firstIndex() - 1;
    const durable = Math.max(this.#durableLast(node), base);
    if (commit <= durable) return commit;
    for (let i = durable; i > base; i--) {
      if (node.storage.entries(i, i + 1, Number.MAX_SAFE_INTEGER)[0]?.kind === "signature") return i;
    }
    return base;
  }

  /** A unique payload, so that equal entries are equal only when they are the same proposal. */
  payload(tag: string): Uint8Array {
    return encoder.encode(`${tag}#${++this.#proposalCounter}`);
  }

  /** Processes Ready after Ready until the node is quiet, following the Ready contract. */
  process(id: NodeId): void {
    const node = this.nodes.get(id)!;
    node.dirty = false;
    for (let round = 0; node.raw?.hasReady(); round++) {
      assert(round < readyRoundsMax, `node ${id} keeps producing Ready`);
      this.#handleReady(node, node.raw, node.raw.ready());
    }
    if (node.raw !== null) {
      this.checker.onCommitIndex(this.view(node));
      this.#checkDurableQuorum(node, node.raw);
    }
  }

  /**
   * A leader whose commit moved while it led: the entry it just committed must be on a quorum's
   * disks. (What a node knew committed when it was elected, restarted or not, was decided before.)
   */
  #checkDurableQuorum(node: SimNode, raw: RawNode): void {
    const status = raw.status();
    if (status.role !== "leader") {
      this.#leaderCommit.delete(node.id);
      return;
    }
    const seen = this.#leaderCommit.get(node.id);
    this.#leaderCommit.set(node.id, { term: status.term, commit: status.commit });
    if (seen === undefined || seen.term !== status.term || status.commit <= seen.commit) return;
    const index = status.commit;
    const entry = index >= raw.firstIndex() ? raw.entries(index, index + 1)[0] : undefined;
    const want = entry === undefined ? this.checker.committed.get(index) : identity(entry);
    const onDisk = (id: NodeId): boolean => {
      const member = this.nodes.get(id);
      if (member === undefined) return false;
      if (index < member.storage.firstIndex()) return true;
      if (index > this.#durableLast(member)) return false;
      const held = member.storage.entries(index, index + 1, Number.MAX_SAFE_INTEGER)[0];
      return held !== undefined && identity(held) === want;
    };
    // The configurations proposed after the commit point did not take part in deciding it.
    const later = raw
      .entries(index + 1, status.lastIndex + 1)
      .filter((e) => e.kind === "reconfiguration").length;
    const deciding = status.configurations.slice(0, status.configurations.length - later);
    this.checker.onLeaderCommit(this.view(node), deciding, onDisk);
  }

  processAll(): void {
    for (const id of this.nodes.keys()) this.process(id);
  }

  #handleReady(node: SimNode, raw: RawNode, rd: Ready): void {
    const storage = node.storage;
    if (rd.snapshot !== null) {
      this.options.onEvent?.(
        `${node.id} installs snapshot ${rd.snapshot.meta.term}/${rd.snapshot.meta.index}`,
      );
      storage.applySnapshot(rd.snapshot);
      node.applied = JSON.parse(new TextDecoder().decode(rd.snapshot.payload));
      node.appliedConfiguration = rd.snapshot.meta.configuration;
      for (const [k, entryIdentity] of node.applied.entries())
        this.checker.onApply(node.id, k + 1, entryIdentity);
    }
    if (rd.rollbackTo !== null) {
      this.options.onEvent?.(`${node.id} rolls back to ${rd.rollbackTo}`);
      storage.truncateAfter(rd.rollbackTo);
      const rollbackTo = rd.rollbackTo;
      node.unsynced = node.unsynced.filter((u) => u.entry.index <= rollbackTo);
    }
    const status = raw.basicStatus();
    const before = storage.hardState();
    // The node's rule (raft-replicator.ts): a leader whose Ready changes neither term nor vote and
    // sends only what may precede its sync does not wait for that sync.
    const deferred =
      this.options.deferLeaderSync === true &&
      status.role === "leader" &&
      rd.entries.length > 0 &&
      rd.snapshot === null &&
      rd.rollbackTo === null &&
      (rd.hardState === null || (rd.hardState.term === before.term && rd.hardState.vote === before.vote)) &&
      rd.messages.every((m) => m.type === "MsgApp" || m.type === "MsgHeartbeat" || m.type === "MsgSnap");
    storage.append(rd.entries);
    if (deferred) {
      for (const entry of rd.entries) node.unsynced.push({ entry, serial: ++node.writes });
      node.owedPersisted.push({ index: rd.entries.at(-1)!.index, term: status.term, serial: node.writes });
    } else {
      // A sync makes everything written so far durable, earlier deferred entries included. Like
      // the node (raft-replicator.ts), only a Ready that asks for one syncs: a Ready of heartbeats
      // or acknowledgements leaves deferred entries on their way to the disk.
      if (rd.mustSync && node.unsynced.length > 0) this.#synced(node);
      this.checker.onPersist(node.id, rd.entries, (i) => storage.term(i));
    }
    if (rd.hardState !== null) {
      storage.setHardState(rd.hardState);
      this.checker.onPersistedCommit(node.id, this.#persistedCommit(node, rd.hardState.commit));
    }
    for (const m of rd.messages) {
      this.options.onSend?.(describeMessage(m));
      this.enqueue(m, this.delayTicks());
    }
    this.#apply(node, rd.committedEntries);
    raw.advance(rd, { durable: !deferred });
    if (rd.softState !== null) {
      const { role, leader } = rd.softState;
      this.options.onEvent?.(
        `${node.id} is ${role} in term ${raw.basicStatus().term}, leader ${leader ?? "-"}`,
      );
      if (role === "leader") this.#onElected(node, raw);
    }
  }

  #apply(node: SimNode, entries: readonly Entry[]): void {
    for (const e of entries) {
      assert(
        e.index === node.applied.length + 1,
        `node ${node.id} applies ${e.index} after ${node.applied.length}`,
      );
      node.applied.push(identity(e));
      if (e.kind === "reconfiguration") node.appliedConfiguration = e.configuration!;
      this.checker.onApply(node.id, e.index, identity(e));
    }
  }

  #onElected(node: SimNode, raw: RawNode): void {
    this.checker.onLeader(this.view(node));
    if (this.options.signOnElection !== false) {
      raw.propose({ kind: "signature", payload: this.payload(`sig-${node.id}`) });
      node.dirty = true;
    }
  }

  /** Snapshot of the node's applied state at its applied index (a committed signature). */
  compact(id: NodeId): boolean {
    const node = this.nodes.get(id)!;
    const index = node.applied.length;
    // Never past the disk's log: the node flushes its ledger before a snapshot counts as committed.
    if (node.raw === null || index <= node.storage.firstIndex() - 1 || index > this.#durableLast(node))
      return false;
    // Snapshots are taken at commit points only (a signature), like the node's snapshot schedule.
    if (node.applied[index - 1]!.split("/")[1] !== "signature") return false;
    const payload = encoder.encode(JSON.stringify(node.applied));
    node.storage.compact(index, node.appliedConfiguration, payload);
    return true;
  }

  view(node: SimNode): NodeView {
    const raw = node.raw!;
    const status = raw.basicStatus();
    const firstIndex = raw.firstIndex();
    return {
      id: node.id,
      term: status.term,
      role: status.role,
      commit: status.commit,
      firstIndex,
      lastIndex: status.lastIndex,
      entries: (from, to) => raw.entries(from, to + 1),
      isCommitPoint: (index) =>
        index === firstIndex - 1 || raw.entries(index, index + 1)[0]?.kind === "signature",
    };
  }

  /** The live leader with the highest term, if any. */
  leader(): NodeId | null {
    let best: { id: NodeId; term: number } | null = null;
    for (const node of this.nodes.values()) {
      const status = node.raw?.basicStatus();
      if (status?.role === "leader" && (best === null || status.term > best.term))
        best = { id: node.id, term: status.term };
    }
    return best?.id ?? null;
  }
}
