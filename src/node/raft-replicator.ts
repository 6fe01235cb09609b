/**
 * Multi-node replication: the `Replicator` seam driven by the consensus core (src/consensus). The
 * Raft log IS the ledger. The primary's engine executes and appends as before; each appended entry
 * is proposed (its index must equal the seqno and its term the engine's view). Backups never execute:
 * they append what the leader sends to their ledger, apply its write sets to the store (private
 * ones decrypted with the ledger secret) and roll store, ledger, tree and view history back when the
 * core says so. Commit advances reach the engine (commit waiters, receipts) as with LocalReplicator.
 *
 * One loop (`pump`) owns the core: inputs (ticks, messages, proposals) are queued and fed only
 * between Readies, and each Ready is processed in the order docs/consensus.md prescribes.
 */
import type {
  Entry,
  HardState,
  Message,
  NodeId,
  RaftConfigInput,
  Ready,
  Role,
  Status,
} from "../consensus/index.ts";
import { RawNode } from "../consensus/index.ts";
import type { WriteSet } from "../kv/index.ts";
import {
  type DecodedEntry,
  DIGEST_BYTES,
  decodeEntry,
  EntryKind,
  leafOf,
  privateWritesOf,
  publicWritesOf,
} from "../ledger/entry.ts";
import { assert } from "../util/assert.ts";
import type { Engine } from "./engine.ts";
import type { Logger } from "./logger.ts";
import type { LedgerStorage } from "./raft-storage.ts";
import { entryOfLedgerBytes } from "./raft-storage.ts";
import type { Replicator } from "./replicator.ts";
import { learnLedgerSecret } from "./secrets.ts";

type Input =
  | { kind: "tick" }
  | { kind: "step"; message: Message }
  | { kind: "propose"; seqno: number; isSignature: boolean; bytes: Buffer }
  /** This leader's appends up to `index` in `term` are durable (a flush it did not wait for). */
  | { kind: "persisted"; index: number; term: number };

export type RaftReplicatorOptions = {
  storage: LedgerStorage;
  raft: Omit<RaftConfigInput, "initialConfiguration">;
  tickMs: number;
  /** Messages waiting to be fed to the core; more are dropped (consensus tolerates loss). */
  inboxMessagesMax: number;
  /**
   * Proposed transaction entries wait for the signature that commits them (it is proposed within
   * the signature interval, and a tick feeds them too) until this many bytes wait; 0 proposes each
   * at once. One round (flush, AppendEntries, acknowledgements) then carries a signature's entries.
   */
  holdBytesMax?: number;
  send(message: Message): void;
  log: Logger;
  /** The disk failed or an invariant broke: the node must stop. */
  onFailure(error: unknown): void;
  random?: () => number;
};

export class RaftReplicator implements Replicator {
  onCommit: (seqno: number) => void = () => {};
  /** Called after a Ready in which this node's role or leader changed. */
  onRoleChange: (status: Status) => void = () => {};
  private readonly o: RaftReplicatorOptions;
  private readonly raw: RawNode;
  private engine: Engine | null = null;
  private inputs: Input[] = [];
  private inboxMessages = 0;
  /** Transaction proposals waiting for their signature (see `holdBytesMax`), in seqno order. */
  private held: Input[] = [];
  private heldBytes = 0;
  private ticksQueued = 0;
  private running = false;
  private primary = false;
  /** This leader proposed its own removal: it writes nothing more and waits to step down. */
  private retiring = false;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  droppedMessages = 0;
  /** Messages handed to the network and received from it, by type (for /node/metrics). */
  readonly sent = new Map<string, number>();
  readonly received = new Map<string, number>();

  constructor(options: RaftReplicatorOptions) {
    this.o = options;
    const storage = options.storage;
    this.raw = new RawNode({
      config: { ...options.raft, initialConfiguration: storage.initialConfiguration },
      storage,
      random: options.random ?? Math.random,
      applied: storage.hardState().commit,
    });
  }

  /** Wires the engine (constructed with this replicator) and starts the clock. */
  attach(engine: Engine): void {
    this.engine = engine;
    this.timer = setInterval(() => this.tick(), this.o.tickMs);
    this.timer.unref();
  }

  isPrimary(): boolean {
    return this.primary;
  }
  leader(): NodeId | null {
    const status = this.raw.status();
    // A retiring leader sends clients elsewhere; they find the next primary once it is elected.
    return this.retiring && status.leader === status.id ? null : status.leader;
  }

  /**
   * The primary has appended the reconfiguration that removes it and a signature after it: it
   * stops writing, so its backups are complete when the reconfiguration commits and the core can
   * hand leadership over at once (MsgTimeoutNow) instead of waiting for an election timeout.
   */
  retire(): void {
    this.retiring = true;
    this.primary = false;
  }
  status(): Status {
    return this.raw.status();
  }

  /** Starts an election now (a new service's first node does not wait for its election timeout). */
  campaign(): void {
    this.inputs.push({ kind: "tick" });
    if (!this.running) {
      this.raw.campaign();
      this.pump();
    }
  }

  receive(message: Message): void {
    if (this.closed) return;
    if (this.inboxMessages >= this.o.inboxMessagesMax) {
      this.droppedMessages++;
      return;
    }
    this.inboxMessages++;
    this.received.set(message.type, (this.received.get(message.type) ?? 0) + 1);
    // Held proposals go first unless the message is an acknowledgement of this term, which cannot
    // change the role: a proposal fed after a step-down is refused, and its entries are discarded
    // then, before the new leader's entries can take their seqnos.
    const ack = message.type === "MsgAppResp" || message.type === "MsgHeartbeatResp";
    if (!ack || message.term > this.raw.basicStatus().term) this.release();
    this.inputs.push({ kind: "step", message });
    this.pump();
  }

  replicate(seqno: number, isSignature: boolean, bytes?: Buffer): void {
    assert(bytes !== undefined, "the engine hands the entry bytes to the replicator");
    assert(this.primary, () => `entry ${seqno} appended by a node that is not primary`);
    this.held.push({ kind: "propose", seqno, isSignature, bytes });
    this.heldBytes += bytes.length;
    if (!isSignature && this.heldBytes < (this.o.holdBytesMax ?? 0)) return;
    this.release();
    this.pump();
  }

  /** Queues the held proposals for the loop (acknowledgements alone do not release them). */
  private release(): void {
    if (this.held.length === 0) return;
    for (const input of this.held) this.inputs.push(input);
    this.held = [];
    this.heldBytes = 0;
  }

  private tick(): void {
    if (this.closed || this.ticksQueued >= 2) return;
    this.ticksQueued++;
    // A tick bounds how long a proposal waits when no signature follows (e.g. after a step-down).
    this.release();
    this.inputs.push({ kind: "tick" });
    this.pump();
  }

  private pump(): void {
    if (this.running || this.closed) return;
    this.running = true;
    this.loop().then(
      () => {
        this.running = false;
      },
      (error: unknown) => {
        this.running = false;
        this.fail(error);
      },
    );
  }

  private fail(error: unknown): void {
    if (this.closed) return;
    this.closed = true;
    this.o.onFailure(error);
  }

  private async loop(): Promise<void> {
    for (let rounds = 0; rounds < 1_000_000; rounds++) {
      const discardAfter = this.feed();
      if (discardAfter !== null) await this.engineOf().rollback(discardAfter);
      if (!this.raw.hasReady()) {
        if (this.inputs.length === 0) return;
        continue;
      }
      const ready = this.raw.ready();
      const durable = await this.handle(ready);
      this.raw.advance(ready, { durable });
      this.after(ready);
    }
  }

  /** Feeds queued inputs; returns the seqno after which the ledger must be discarded (refused proposals). */
  private feed(): number | null {
    const batch = this.inputs;
    this.inputs = [];
    let discardAfter: number | null = null;
    for (const input of batch) {
      if (input.kind === "tick") {
        this.ticksQueued--;
        this.raw.tick();
      } else if (input.kind === "step") {
        this.inboxMessages--;
        this.raw.step(input.message);
      } else if (input.kind === "persisted") {
        this.raw.persisted(input.index, input.term);
      } else if (discardAfter === null) {
        discardAfter = this.propose(input);
      }
    }
    return discardAfter;
  }

  private propose(input: Extract<Input, { kind: "propose" }>): number | null {
    const entry = entryOfLedgerBytes(input.seqno, this.engineOf().view, input.bytes);
    const proposal =
      entry.configuration === undefined
        ? { kind: entry.kind, payload: input.bytes }
        : { kind: entry.kind, payload: input.bytes, configuration: entry.configuration };
    const result = this.raw.propose(proposal);
    if (!result.ok) {
      // Only a node that has just lost leadership gets here (the engine's limits are below the
      // core's); the entries from this seqno on were never replicated: discard them.
      assert(result.reason === "not-leader", () => `proposal refused: ${result.reason}`);
      this.primary = false;
      this.o.log.info("lost leadership; discarding unreplicated entries", { from: input.seqno });
      return input.seqno - 1;
    }
    assert(result.index === input.seqno, () => `proposal index ${result.index} is the seqno ${input.seqno}`);
    assert(
      result.term === this.engineOf().view,
      () => `proposal term ${result.term} is the view ${this.engineOf().view}`,
    );
    return null;
  }

  private engineOf(): Engine {
    assert(this.engine !== null, "replicator attached to an engine");
    return this.engine;
  }

  /**
   * Steps 1-8 of the Ready contract. Returns false when a leader did not wait for its flush (its
   * own entries then count towards a commit from the `persisted` input the flush queues).
   */
  private async handle(ready: Ready): Promise<boolean> {
    const engine = this.engineOf();
    const storage = this.o.storage;
    if (ready.softState !== null && ready.softState.role !== "leader") this.primary = false;
    assert(ready.snapshot === null, "snapshots are not produced by this node's storage");
    if (ready.rollbackTo !== null) {
      await engine.rollback(ready.rollbackTo);
      storage.truncate(ready.rollbackTo);
    }
    await this.appendEntries(ready.entries);
    const status = this.raw.basicStatus();
    const leaderUnbound = leaderPromisesNothing(ready, status.role, storage.hardState());
    const early = leaderUnbound ? ready.messages.filter(mayPrecedeSync) : [];
    const deferred =
      leaderUnbound && ready.mustSync && ready.rollbackTo === null && early.length === ready.messages.length;
    if (ready.hardState !== null) storage.setHardState(ready.hardState);
    for (const message of early) this.send(message);
    if (deferred) {
      // The loop goes on (acknowledgements, the next proposals) while the disk works; the core
      // counts this leader's entries once the flush has returned.
      const persisted: Input = { kind: "persisted", index: status.lastIndex, term: status.term };
      engine.ledger.flush().then(
        () => {
          this.inputs.push(persisted);
          this.pump();
        },
        (error: unknown) => this.fail(error),
      );
    } else if (ready.mustSync) await engine.ledger.flush();
    for (const message of ready.messages) if (!early.includes(message)) this.send(message);
    const last = ready.committedEntries.at(-1);
    if (last !== undefined) {
      assert(last.kind === "signature", "commits end at a signature");
      this.onCommit(last.index);
    }
    storage.persisted(ready.entries);
    return !deferred;
  }

  private send(message: Message): void {
    this.sent.set(message.type, (this.sent.get(message.type) ?? 0) + 1);
    this.o.send(message);
  }

  private async appendEntries(entries: readonly Entry[]): Promise<void> {
    const engine = this.engineOf();
    const first = entries[0];
    if (first === undefined) return;
    // Entries the core took from us are already in the ledger; a different term at the same index
    // means our never-persisted proposals were superseded by a new leader's entries.
    if (first.index <= engine.ledger.lastSeqno && engine.views.viewOf(first.index) !== first.term) {
      await engine.rollback(first.index - 1);
    }
    const appended: DecodedEntry[] = [];
    for (const e of entries) {
      if (e.index <= engine.ledger.lastSeqno) {
        assert(engine.views.viewOf(e.index) === e.term, () => `own entry ${e.index} has term ${e.term}`);
        continue;
      }
      appended.push(this.appendReplicated(e));
    }
    if (appended.length === 0) return;
    // A backup starts writing the entries now and decrypts and applies them while the write reaches
    // the disk; `handle` still waits for that flush before acknowledging. (If it fails, that wait
    // reports it: the ledger fails every flush after a failed write.)
    engine.ledger.flush().catch(() => {});
    for (const decoded of appended) this.applyReplicated(decoded);
  }

  /** A backup appends the leader's entry to its ledger (no decryption needed for that). */
  private appendReplicated(e: Entry): DecodedEntry {
    const engine = this.engineOf();
    const bytes = Buffer.from(e.payload.buffer, e.payload.byteOffset, e.payload.byteLength);
    const decoded = decodeEntry(bytes);
    const h = decoded.header;
    assert(
      h.seqno === e.index && h.view === e.term,
      () => `entry ${h.view}.${h.seqno} matches ${e.term}.${e.index}`,
    );
    const isSignature = h.kind === EntryKind.signature;
    assert(isSignature === (e.kind === "signature"), () => `entry ${e.index} kind agrees with its header`);
    const leaf = leafOf(decoded);
    engine.ledger.append(
      { bytes, writeSetDigest: leaf.subarray(0, DIGEST_BYTES), leaf },
      e.index,
      isSignature,
    );
    return decoded;
  }

  /** A backup applies an appended entry's write set; it never runs a handler. */
  private applyReplicated(decoded: DecodedEntry): void {
    const engine = this.engineOf();
    const h = decoded.header;
    const isSignature = h.kind === EntryKind.signature;
    const secret = h.privateBytes === 0 ? null : engine.secretFor(h.secretVersion);
    const publicWrites = publicWritesOf(decoded);
    const writes: WriteSet = [...publicWrites, ...(secret ? privateWritesOf(decoded, secret) : [])];
    writes.sort(byMapName);
    engine.store.applyWriteSet(writes, h.seqno);
    engine.views.record(h.view, h.seqno);
    engine.announceWriteSet(h.seqno, isSignature ? [] : writes);
    // A rekey in this entry sealed the next ledger secret to us: learn it before the entries it encrypts.
    learnLedgerSecret(engine.identity, h.seqno, publicWrites);
  }

  /** After advance: follow the term as our view, become primary, sign at once as a new leader. */
  private after(ready: Ready): void {
    const engine = this.engineOf();
    const status = this.raw.status();
    if (status.term > engine.views.currentView) engine.views.startView(status.term);
    if (ready.softState === null) return;
    if (status.role !== "leader") engine.steppedDown();
    const wasPrimary = this.primary;
    if (status.role === "leader" && !wasPrimary && !this.retiring) {
      assert(engine.view === status.term, "a new leader writes in its own term");
      assert(engine.ledger.lastSeqno === status.lastIndex, "a new leader's ledger is its log");
      this.primary = true;
      this.o.log.info("became primary", {
        node_id: status.id,
        view: status.term,
        last_seqno: status.lastIndex,
      });
      // Nothing commits before a signature of the new term is on a quorum. (A new service's first
      // leader has nothing to sign yet: its genesis transaction must be seqno 1.)
      if (engine.ledger.lastSeqno > 0) engine.appendSignature();
    }
    this.onRoleChange(status);
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    for (let i = 0; i < 500 && this.running; i++) await new Promise((r) => setTimeout(r, 5));
    this.closed = true;
    this.primary = false;
    await this.engine?.ledger.flush();
  }
}

/** A module-level comparator: a closure made per entry would be compiled again after each major GC. */
function byMapName(a: { name: string }, b: { name: string }): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/**
 * A leader whose Ready changes neither term nor vote: its flush promises nothing to anyone, so
 * the messages that may precede it go first (Raft thesis §10.2.1), and it need not wait for it
 * at all when nothing else is in the Ready (the core counts its own entries towards a commit
 * only once the flush has returned). Followers' acknowledgements and votes, and anything in a
 * Ready that changes term or vote, still wait for the flush.
 */
function leaderPromisesNothing(ready: Ready, role: Role, persisted: HardState): boolean {
  if (role !== "leader") return false;
  const hard = ready.hardState;
  return hard === null || (hard.term === persisted.term && hard.vote === persisted.vote);
}

/** AppendEntries, heartbeats and snapshots promise nothing about the sender's disk. */
function mayPrecedeSync(m: Message): boolean {
  return m.type === "MsgApp" || m.type === "MsgHeartbeat" || m.type === "MsgSnap";
}
