/**
 * The seam between execution and replication. The engine appends every entry to the local ledger
 * and hands it to a `Replicator`; the replicator decides when entries are committed and tells the
 * engine through `onCommit`. A single node commits a signature once it is durable on its own disk;
 * the Raft replicator (src/consensus) plugs in here without touching the store or the ledger.
 */
import type { Ledger } from "../ledger/ledger.ts";
import { assert } from "../util/assert.ts";

export type Replicator = {
  /** Entry `seqno` (its serialised bytes) was appended to the local ledger (not yet durable). */
  replicate(seqno: number, isSignature: boolean, bytes?: Buffer): void;
  /** The engine's callback for commit advances; `seqno` is always a signature's seqno. */
  onCommit: (seqno: number) => void;
  /** Whether this node executes writes. */
  isPrimary(): boolean;
  /** The primary's node id as far as this node knows; absent on a single node (itself). */
  leader?(): string | null;
  close(): Promise<void>;
};

/**
 * Single-node replication: a signature is committed once the local flush that covers it returns.
 * Transaction entries are only committed by a later signature, so they are not flushed on their
 * own: they wait for it (one flush per signature), unless `holdBytesMax` bytes are waiting.
 */
export class LocalReplicator implements Replicator {
  onCommit: (seqno: number) => void = () => {};
  private readonly ledger: Ledger;
  private readonly holdBytesMax: number;
  private heldBytes = 0;
  private flushScheduled = false;
  private committed = 0;
  private closed = false;
  private failure: ((error: unknown) => void) | null;

  /**
   * `onFailure` is called when the disk fails; the node must stop (it can no longer promise
   * durability). `holdBytesMax` 0 flushes after every entry.
   */
  constructor(ledger: Ledger, onFailure: (error: unknown) => void, holdBytesMax = 0) {
    this.ledger = ledger;
    this.failure = onFailure;
    this.holdBytesMax = holdBytesMax;
  }

  isPrimary(): boolean {
    return true;
  }

  replicate(_seqno: number, isSignature: boolean, bytes?: Buffer): void {
    this.heldBytes += bytes?.length ?? 0;
    if (!isSignature && this.heldBytes < this.holdBytesMax) return;
    this.heldBytes = 0;
    if (this.flushScheduled || this.closed) return;
    this.flushScheduled = true;
    // Coalesce everything appended in this turn of the event loop into one group commit.
    setImmediate(() => {
      this.flushScheduled = false;
      this.ledger.flush().then(
        () => this.advance(),
        (error: unknown) => this.failure?.(error),
      );
    });
  }

  private advance(): void {
    const signed = this.ledger.lastSignatureAtOrBefore(this.ledger.files.durableSeqno);
    if (signed > this.committed) {
      this.committed = signed;
      this.onCommit(signed);
    }
    assert(this.committed <= this.ledger.files.durableSeqno, "commit never runs ahead of the disk");
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.ledger.flush();
    this.advance();
    this.failure = null;
  }
}
