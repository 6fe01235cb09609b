/**
 * A bounded queue of encoded frames for one peer. Frames wait here only while the socket reports
 * backpressure (`write` returned false) or while a connection is being set up. Policy when full:
 * the NEW frame is dropped and counted — consensus tolerates loss (lost appends are re-sent after
 * a probe, heartbeats repeat), whereas blocking the node's single event loop on one slow peer would
 * stall every other peer and the clients. While a peer is unreachable (connect failed, backoff)
 * frames are dropped at once: they would be stale by the time it returns.
 */
export type SendQueueLimits = { framesMax: number; bytesMax: number };

export class SendQueue {
  private readonly limits: SendQueueLimits;
  private frames: Buffer[] = [];
  private head = 0;
  private queuedBytes = 0;
  dropped = 0;

  constructor(limits: SendQueueLimits) {
    if (limits.framesMax < 1 || limits.bytesMax < 1)
      throw new RangeError("send queue limits must be positive");
    this.limits = limits;
  }

  get length(): number {
    return this.frames.length - this.head;
  }
  get bytes(): number {
    return this.queuedBytes;
  }

  /** Queues `frame`; false (and counted as dropped) when a limit would be exceeded. */
  push(frame: Buffer): boolean {
    if (this.length >= this.limits.framesMax || this.queuedBytes + frame.length > this.limits.bytesMax) {
      this.dropped++;
      return false;
    }
    this.frames.push(frame);
    this.queuedBytes += frame.length;
    return true;
  }

  shift(): Buffer | undefined {
    if (this.head >= this.frames.length) return undefined;
    const frame = this.frames[this.head++] as Buffer;
    this.queuedBytes -= frame.length;
    if (this.head > 1024 && this.head * 2 > this.frames.length) {
      this.frames = this.frames.slice(this.head);
      this.head = 0;
    }
    return frame;
  }

  /** Drops everything queued (the connection closed); returns how many frames were lost. */
  clear(): number {
    const n = this.length;
    this.dropped += n;
    this.frames = [];
    this.head = 0;
    this.queuedBytes = 0;
    return n;
  }
}
