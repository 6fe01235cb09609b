/**
 * Values keyed by ascending seqno, consumed from the oldest: an array and a head index. Looked up
 * by seqno in O(1) when the seqnos held are consecutive (else by binary search).
 *
 * This replaces a `Map` by seqno used as a queue. A `Map` consumed from its oldest key and walked
 * from its start (`keys()`) skips every deleted entry still in its table on each walk (0.35–1.9 µs
 * per entry for a window of 50,000, ad hoc). And for short-lived values on a hot path, V8 leaves
 * each table a Map outgrows or shrinks out of pointing at its successor and still holding the
 * entries it had. Once one such table has been promoted to the old generation, the
 * young-generation collector keeps every later table alive, with the entries they held, until the
 * next full collection: values meant to die within milliseconds are copied and promoted instead
 * (docs/performance.md, "Young garbage kept alive"). Here a consumed slot is cleared at once and
 * nothing points from old storage to new.
 */
export class SeqnoQueue<T> {
  private seqnos: number[] = [];
  private values: Array<T | undefined> = [];
  private head = 0;

  /** How many values are held. */
  get size(): number {
    return this.seqnos.length - this.head;
  }

  /** The lowest seqno held; undefined when empty. */
  get firstSeqno(): number | undefined {
    return this.head < this.seqnos.length ? this.seqnos[this.head] : undefined;
  }

  /** The value at `seqno`, if held; it stays held. */
  get(seqno: number): T | undefined {
    const seqnos = this.seqnos;
    let lo = this.head;
    let hi = seqnos.length;
    if (lo === hi) return undefined;
    // Consecutive seqnos (the usual case): the slot is at the seqno's offset from the first.
    const at = lo + (seqno - (seqnos[lo] as number));
    if (at >= lo && at < hi && seqnos[at] === seqno) return this.values[at];
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const s = seqnos[mid] as number;
      if (s === seqno) return this.values[mid];
      if (s < seqno) lo = mid + 1;
      else hi = mid;
    }
    return undefined;
  }

  /** Appends `value` at `seqno`, which must be above every seqno held. */
  push(seqno: number, value: T): void {
    const last = this.seqnos.length > this.head ? (this.seqnos.at(-1) as number) : -Infinity;
    if (!(seqno > last)) throw new RangeError(`seqno ${seqno} is not above ${last}`);
    this.seqnos.push(seqno);
    this.values.push(value);
  }

  /** Drops every value at or above `seqno` (a rollback). */
  dropFrom(seqno: number): void {
    while (this.seqnos.length > this.head && (this.seqnos.at(-1) as number) >= seqno) {
      this.seqnos.pop();
      this.values.pop();
    }
    if (this.seqnos.length === this.head) this.clear();
  }

  /** Drops every value below `seqno`, then removes and returns the value at `seqno`, if held. */
  take(seqno: number): T | undefined {
    const seqnos = this.seqnos;
    while (this.head < seqnos.length && (seqnos[this.head] as number) < seqno) this.dropHead();
    if (this.head === seqnos.length || seqnos[this.head] !== seqno) return undefined;
    const value = this.values[this.head];
    this.dropHead();
    return value;
  }

  private dropHead(): void {
    this.values[this.head] = undefined;
    this.head++;
    if (this.head === this.seqnos.length) this.clear();
    else if (this.head >= 1024 && this.head * 2 >= this.seqnos.length) {
      // Reclaim the consumed prefix once it is at least half of the arrays.
      this.seqnos = this.seqnos.slice(this.head);
      this.values = this.values.slice(this.head);
      this.head = 0;
    }
  }

  private clear(): void {
    this.seqnos.length = 0;
    this.values.length = 0;
    this.head = 0;
  }
}
