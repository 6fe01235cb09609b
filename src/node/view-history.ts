/**
 * Which view each seqno was written in, kept as the first seqno of every view (CCF's view
 * history): tiny, and enough to tell Committed from Invalid for any transaction id.
 */
import { assert } from "../util/assert.ts";

export class ViewHistory {
  /** Pairs [view, firstSeqno], ascending in both. */
  private readonly firstSeqnos: Array<[number, number]> = [];
  private current: number;

  constructor(currentView: number) {
    this.current = currentView;
  }

  get currentView(): number {
    return this.current;
  }

  /** Moves to a new view; entries appended from now on carry it. */
  startView(view: number): void {
    assert(view > this.current, "views only increase");
    this.current = view;
  }

  /** Notes that `seqno` was written in `view` (called for every entry in order). */
  record(view: number, seqno: number): void {
    const last = this.firstSeqnos.at(-1);
    if (last !== undefined && last[0] === view) return;
    assert(last === undefined || (view > last[0] && seqno > last[1]), "view history grows");
    this.firstSeqnos.push([view, seqno]);
  }

  viewOf(seqno: number): number {
    let view = 0;
    for (const [v, first] of this.firstSeqnos) {
      if (first > seqno) break;
      view = v;
    }
    return view;
  }

  /** Pairs [view, firstSeqno] in order. */
  starts(): ReadonlyArray<readonly [number, number]> {
    return this.firstSeqnos;
  }

  /** Forgets entries after `seqno` (rollback). */
  truncate(seqno: number): void {
    while (this.firstSeqnos.length > 0 && (this.firstSeqnos.at(-1) as [number, number])[1] > seqno)
      this.firstSeqnos.pop();
  }
}
