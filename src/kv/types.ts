/** One write: `value === null` deletes the key. */
export type Write = { key: Uint8Array; value: Uint8Array | null };

/** The writes of one transaction to one map, sorted by key bytes, one write per key. */
export type MapWrites = { name: string; writes: Write[] };

/**
 * Everything one transaction changed, in a deterministic form: maps sorted by name (code-unit
 * order), writes sorted by unsigned key bytes, one write per key (the last one inside the tx).
 * The ledger serialises exactly this, and backups apply exactly this.
 */
export type WriteSet = MapWrites[];

/** Outcome of `Store.commit`. */
export type CommitResult =
  | { status: "conflict" }
  | { status: "ok"; version: number; writeSet: WriteSet }
  | { status: "read-only" };

/** Parameters of a range read: `from` inclusive, `to` exclusive, at most `limit` entries. */
export type RangeOptions = {
  from?: Uint8Array;
  to?: Uint8Array;
  limit: number;
  /** Continuation token from a previous call with the same map, `from`, `to` and `reverse`. */
  cursor?: string;
  /** Descending key order. */
  reverse?: boolean;
};

/** A page of a range read; `cursor` is present iff more entries may follow. */
export type RangeResult = {
  entries: Array<[Uint8Array, Uint8Array]>;
  cursor?: string;
};
