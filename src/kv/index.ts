/** Public surface of the transactional store. Import from here, not from the files inside. */
export { compareBytes, latin1Bytes } from "./bytes.ts";
export type { Codec } from "./codecs.ts";
export { json, raw, u64, utf8 } from "./codecs.ts";
export {
  isPublicMapName,
  isReservedMapName,
  mapNameLengthMax,
  publicMapPrefix,
  reservedMapPrefixes,
} from "./names.ts";
export type { StoreLimits, StoreOptions } from "./options.ts";
export { storeDefaults } from "./options.ts";
export type { SnapshotMap, VersionedEntry } from "./restore.ts";
export type { SnapshotEntriesOptions } from "./snapshot.ts";
export { Snapshot } from "./snapshot.ts";
export type { RunTransactionOptions } from "./store.ts";
export { Store } from "./store.ts";
export type { TxOptions } from "./tx.ts";
export { Tx } from "./tx.ts";
export type { Table, TypedRangeOptions, TypedRangeResult } from "./typed.ts";
export { defineTable, TypedMap } from "./typed.ts";
export type { CommitResult, MapWrites, RangeOptions, RangeResult, Write, WriteSet } from "./types.ts";
