/**
 * Historical reads for `historical` endpoints: the committed writes to one key over a range of
 * seqnos, read from the ledger (private writes decrypted with the ledger secret they name). The
 * range is bounded (`historicalRangeMax`); the apps issue adds indexes so queries do not scan.
 */
import type { HistoricalReader, HistoricalWrite } from "../app/index.ts";
import { isPublicMapName } from "../kv/index.ts";
import { type DecodedEntry, decodeEntry, privateWritesOf, publicWritesOf } from "../ledger/entry.ts";
import { CoterieError } from "../util/errors.ts";
import type { Engine } from "./engine.ts";

export const historicalRangeMax = 10_000;

export function historicalReader(engine: Engine): HistoricalReader {
  return {
    get committedSeqno() {
      return engine.committedSeqno;
    },
    writes(map, key, fromSeqno, toSeqno) {
      if (
        !Number.isSafeInteger(fromSeqno) ||
        !Number.isSafeInteger(toSeqno) ||
        fromSeqno < 1 ||
        toSeqno < fromSeqno
      ) {
        throw new CoterieError("COTERIE_ERR_INVALID_INPUT", "seqno range must satisfy 1 <= from <= to");
      }
      const to = Math.min(toSeqno, engine.committedSeqno);
      if (to - fromSeqno + 1 > historicalRangeMax) {
        throw new CoterieError(
          "COTERIE_ERR_INVALID_INPUT",
          `a historical range spans at most ${historicalRangeMax} seqnos`,
        );
      }
      const out: HistoricalWrite[] = [];
      const wanted = Buffer.from(key);
      for (let seqno = fromSeqno; seqno <= to; seqno++) {
        const entry = decodeEntry(engine.ledger.files.read(seqno));
        const value = findWrite(engine, entry, map, wanted);
        if (value !== undefined) out.push({ transactionId: `${entry.header.view}.${seqno}`, seqno, value });
      }
      return out;
    },
  };
}

function findWrite(
  engine: Engine,
  entry: DecodedEntry,
  map: string,
  key: Buffer,
): Uint8Array | null | undefined {
  const isPublic = isPublicMapName(map);
  if (!isPublic && entry.header.privateBytes === 0) return undefined;
  const writes = isPublic
    ? publicWritesOf(entry)
    : privateWritesOf(entry, engine.secretFor(entry.header.secretVersion));
  const m = writes.find((w) => w.name === map);
  return m?.writes.find((w) => key.equals(w.key))?.value;
}
