import { assert } from "../util/assert.ts";

/**
 * How the leader replicates to one follower (etcd's tracker states):
 * - `probe`: the leader does not know where the logs diverge; it sends one MsgApp and waits for the
 *   answer (or the next heartbeat response) before sending another.
 * - `replicate`: the logs are known to match up to `match`; the leader streams MsgApps optimistically,
 *   advancing `next` at once, bounded by the inflight window.
 * - `snapshot`: the follower needs a snapshot at `pendingSnapshot`; nothing else is sent until it is
 *   acknowledged or `snapshotTimeoutTicks` pass.
 *
 * Invariants: 0 <= match < next; in replicate, every inflight index is in (match, next).
 */
export type ProgressState = "probe" | "replicate" | "snapshot";

export class Progress {
  state: ProgressState = "probe";
  match = 0;
  next: number;
  /** In probe: one MsgApp was sent and is unanswered. */
  probeSent = false;
  pendingSnapshot = 0;
  snapshotElapsedTicks = 0;
  /** Ticks in replicate state with entries outstanding and no acknowledgement (a stalled pipeline). */
  stalledTicks = 0;
  /** Heard from since the last CheckQuorum round. */
  recentActive = false;
  /**
   * A follower no active configuration holds any more (0 while it is a voter): the commit index
   * at which it left. The leader keeps replicating to it, outside every quorum, until a heartbeat
   * has told it a commit at least this high (so the node learns that its removal, and whatever
   * led to it, committed) or `leavingTicks` reaches the bound; then it forgets it.
   */
  leavingCommit = 0;
  leavingTicks = 0;
  leavingTold = false;
  readonly inflights: Inflights;

  constructor(next: number, inflightMessagesMax: number, inflightBytesMax: number) {
    assert(next >= 1, "next index starts at 1");
    this.next = next;
    this.inflights = new Inflights(inflightMessagesMax, inflightBytesMax);
  }

  isPaused(): boolean {
    if (this.state === "probe") return this.probeSent;
    if (this.state === "replicate") return this.inflights.full();
    return true;
  }

  becomeProbe(): void {
    const next =
      this.state === "snapshot" ? Math.max(this.match + 1, this.pendingSnapshot + 1) : this.match + 1;
    this.reset("probe");
    this.next = next;
  }
  becomeReplicate(): void {
    this.reset("replicate");
    this.next = this.match + 1;
  }
  becomeSnapshot(index: number): void {
    this.reset("snapshot");
    this.pendingSnapshot = index;
  }
  private reset(state: ProgressState): void {
    this.state = state;
    this.probeSent = false;
    this.pendingSnapshot = 0;
    this.snapshotElapsedTicks = 0;
    this.stalledTicks = 0;
    this.inflights.clear();
  }

  /** Records an acknowledgement up to `index`; false when it is stale. */
  maybeUpdate(index: number): boolean {
    if (index <= this.match) return false;
    this.match = index;
    this.next = Math.max(this.next, index + 1);
    this.probeSent = false;
    this.stalledTicks = 0;
    this.inflights.freeTo(index);
    return true;
  }

  /** Records that entries up to `lastIndex` (`bytes` in total) were sent. */
  sentEntries(lastIndex: number, bytes: number): void {
    if (this.state === "replicate") {
      assert(lastIndex >= this.next, "replicate sends entries in order");
      this.next = lastIndex + 1;
      this.inflights.add(lastIndex, bytes);
    } else {
      assert(this.state === "probe", "no entries are sent in snapshot state");
      this.probeSent = true;
    }
  }
}

/** A bounded window of MsgApps in flight to one follower: last index and bytes of each. */
export class Inflights {
  readonly messagesMax: number;
  readonly bytesMax: number;
  #indexes: number[] = [];
  #sizes: number[] = [];
  #bytes = 0;

  constructor(messagesMax: number, bytesMax: number) {
    this.messagesMax = messagesMax;
    this.bytesMax = bytesMax;
  }
  full(): boolean {
    return this.#indexes.length >= this.messagesMax || this.#bytes >= this.bytesMax;
  }
  count(): number {
    return this.#indexes.length;
  }
  add(lastIndex: number, bytes: number): void {
    assert(!this.full(), "inflight window overflow");
    const last = this.#indexes[this.#indexes.length - 1];
    assert(last === undefined || lastIndex > last, "inflight indexes increase");
    this.#indexes.push(lastIndex);
    this.#sizes.push(bytes);
    this.#bytes += bytes;
  }
  /** Frees every message whose entries are all at or below `index`. */
  freeTo(index: number): void {
    let k = 0;
    while (k < this.#indexes.length && this.#indexes[k]! <= index) this.#bytes -= this.#sizes[k++]!;
    this.#indexes.splice(0, k);
    this.#sizes.splice(0, k);
  }
  /** Frees the oldest message (a heartbeat answered, so the follower is alive; resume sending). */
  freeFirst(): void {
    if (this.#indexes.length > 0) this.freeTo(this.#indexes[0]!);
  }
  clear(): void {
    this.#indexes = [];
    this.#sizes = [];
    this.#bytes = 0;
  }
}
