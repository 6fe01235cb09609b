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
   * A leader's appended entries whose sync it did not wait for (`deferLeaderSync`): visible in
   * storage, lost on a crash, durable once `completeSync` runs or the next Ready that does sync.
   */
  unsynced: Entry[] = [];
  /**
   * The `persisted(index, term)` each deferred sync owes the core, delivered by `completeSync` in
   * order, whatever happened since: as in the node, where a flush's completion is queued with the
   * index and term of its Ready, a notice may arrive after a later sync, a rollback, a step-down or
   * a new term (stale), and the core must ignore what no longer holds.
   */
  owedPersisted: Array<{ index: number; term: number }> = [];
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
    // What was never synced is lost, and the persisted commit never points past the disk's log
    // (the node writes it clamped as `#persistedCommit` does).
    const first = node.unsynced[0];
    if (first !== undefined) node.storage.truncateAfter(first.index - 1);
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
   * A leader's deferred syncs return: their entries are durable, and the core hears each one's
   * `persisted(index, term)`, some perhaps stale by now.
   */
  completeSync(id: NodeId): void {
    const node = this.nodes.get(id)!;
    if (node.raw === null) return;
    if (node.unsynced.length > 0) this.#synced(node);
    const owed = node.owedPersisted;
    if (owed.length === 0) return;
    node.owedPersisted = [];
    for (const { index, term } of owed) node.raw.persisted(index, term);
    node.dirty = true;
  }

  hasUnsynced(id: NodeId): boolean {
    return this.alive(id) && (this.nodes.get(id)?.unsynced.length ?? 0) > 0;
  }

  #synced(node: SimNode): void {
    this.checker.onPersist(node.id, node.unsynced, (i) => node.storage.term(i));
    node.unsynced = [];
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
    if (node.raw !== null) this.checker.onCommitIndex(this.view(node));
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
      node.unsynced = node.unsynced.filter((e) => e.index <= rollbackTo);
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
      node.unsynced.push(...rd.entries);
      node.owedPersisted.push({ index: rd.entries.at(-1)!.index, term: status.term });
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
