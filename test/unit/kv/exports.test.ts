// The public export list of src/kv, snapshotted so that API changes are deliberate: the ledger and
// node layers are written against it.
import assert from "node:assert/strict";
import { test } from "node:test";
import * as kv from "../../../src/kv/index.ts";

test("src/kv exports exactly the documented runtime names", () => {
  assert.deepEqual(Object.keys(kv).sort(), [
    "Snapshot",
    "Store",
    "Tx",
    "TypedMap",
    "compareBytes",
    "defineTable",
    "isPublicMapName",
    "isReservedMapName",
    "json",
    "latin1Bytes",
    "mapNameLengthMax",
    "publicMapPrefix",
    "raw",
    "reservedMapPrefixes",
    "storeDefaults",
    "u64",
    "utf8",
  ]);
});
