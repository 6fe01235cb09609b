/**
 * Historical reads for `historical` endpoints: committed writes to one key, or to one map, over a
 * range of seqnos. The seqnos come from the in-memory index (indexes.ts), which the first query
 * makes; only the entries it names are read and decrypted. Seqnos committed but not indexed yet are
 * read directly (at most `historicalRangeMax` of them; beyond, 503 until the index catches up).
 * Records of confidential tables are filtered by the caller's read policy here, so a historical
 * endpoint cannot leak what a direct read would hide. Deletes of confidential records are never
 * shown (a delete carries no record, hence no parties).
 */
import {
  type ConfidentialSpec,
  type HistoricalMapWrite,
  type HistoricalReader,
  mayReadBytes,
} from "../app/index.ts";
import { CoterieError } from "../util/errors.ts";
import type { Engine } from "./engine.ts";
import { historyIndexOf, writesAt } from "./indexes.ts";

/** Most seqnos read directly (not through the index) by one query. */
export const historicalRangeMax = 10_000;
/** Most writes one query returns. */
export const historicalResultsMax = 10_000;

export type ReadPolicy = { specs: readonly ConfidentialSpec[]; readerParties: readonly string[] };

function checkRange(fromSeqno: number, toSeqno: number): void {
  if (
    !Number.isSafeInteger(fromSeqno) ||
    !Number.isSafeInteger(toSeqno) ||
    fromSeqno < 1 ||
    toSeqno < fromSeqno
  ) {
    throw new CoterieError("COTERIE_ERR_INVALID_INPUT", "seqno range must satisfy 1 <= from <= to");
  }
}

/** Indexed seqnos in range, then the not-yet-indexed tail read directly. */
function seqnosFor(
  engine: Engine,
  from: number,
  to: number,
  indexed: (f: number, t: number) => number[],
): number[] {
  const index = historyIndexOf(engine);
  const last = Math.min(to, engine.committedSeqno);
  const out = indexed(from, last);
  const tailFrom = Math.max(from, index.indexedSeqno + 1);
  if (last - tailFrom + 1 > historicalRangeMax) {
    throw new CoterieError(
      "COTERIE_ERR_HISTORY_NOT_READY",
      `the history index is still catching up; retry later, or query at most ${historicalRangeMax} seqnos above ${index.indexedSeqno}`,
      { details: { indexed_seqno: index.indexedSeqno } },
    );
  }
  for (let s = tailFrom; s <= last; s++) out.push(s);
  return out;
}

export function historicalReader(
  engine: Engine,
  policy: ReadPolicy = { specs: [], readerParties: [] },
): HistoricalReader {
  const specOf = new Map(policy.specs.map((s) => [s.name, s]));
  const visible = (map: string, value: Uint8Array | null): boolean => {
    const spec = specOf.get(map);
    if (spec === undefined) return true;
    return value !== null && mayReadBytes(spec, value, policy.readerParties);
  };
  const collect = (
    map: string,
    seqnos: number[],
    key: Uint8Array | null,
    limit: number,
  ): HistoricalMapWrite[] => {
    const out: HistoricalMapWrite[] = [];
    const wanted = key === null ? null : Buffer.from(key);
    for (const seqno of seqnos) {
      const { entry, writes } = writesAt(engine, seqno);
      const m = writes.find((w) => w.name === map);
      for (const w of m?.writes ?? []) {
        if (wanted !== null && !wanted.equals(w.key)) continue;
        if (!visible(map, w.value)) continue;
        out.push({ transactionId: `${entry.header.view}.${seqno}`, seqno, key: w.key, value: w.value });
        if (out.length >= limit) return out;
      }
    }
    return out;
  };
  return {
    get committedSeqno() {
      return engine.committedSeqno;
    },
    writes(map, key, fromSeqno, toSeqno) {
      checkRange(fromSeqno, toSeqno);
      const index = historyIndexOf(engine);
      const seqnos = seqnosFor(engine, fromSeqno, toSeqno, (f, t) => index.keySeqnos(map, key, f, t));
      return collect(map, seqnos, key, historicalResultsMax).map(({ transactionId, seqno, value }) => ({
        transactionId,
        seqno,
        value,
      }));
    },
    mapWrites(map, fromSeqno, toSeqno, limit) {
      checkRange(fromSeqno, toSeqno);
      if (!Number.isSafeInteger(limit) || limit < 1 || limit > historicalResultsMax) {
        throw new CoterieError("COTERIE_ERR_INVALID_INPUT", `limit must be 1 to ${historicalResultsMax}`);
      }
      const index = historyIndexOf(engine);
      return collect(
        map,
        seqnosFor(engine, fromSeqno, toSeqno, (f, t) => index.mapSeqnos(map, f, t)),
        null,
        limit,
      );
    },
  };
}

/**
 * May a reader see the receipt of the transaction at `seqno`? Yes unless it wrote a confidential
 * record the reader may not read (a delete counts as unreadable: it names no parties). Receipts
 * reveal only digests, but even a transaction's existence for a party is the party's business.
 */
export function mayReadTransaction(engine: Engine, seqno: number, policy: ReadPolicy): boolean {
  if (policy.specs.length === 0) return true;
  const specOf = new Map(policy.specs.map((s) => [s.name, s]));
  for (const m of writesAt(engine, seqno).writes) {
    const spec = specOf.get(m.name);
    if (spec === undefined) continue;
    for (const w of m.writes)
      if (w.value === null || !mayReadBytes(spec, w.value, policy.readerParties)) return false;
  }
  return true;
}
