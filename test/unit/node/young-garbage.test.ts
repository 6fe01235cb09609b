// A write's short-lived objects must die young. The engine's commit waiters were a Map by seqno;
// V8 leaves each table a Map outgrows or shrinks out of pointing at its successor and at the
// entries it held, so once one table was promoted, every later table and every waiter they held
// outlived each young-generation collection and was promoted too (docs/performance.md, "Young
// garbage kept alive"). Measured here as the old generation's growth over minor collections only.
import assert from "node:assert/strict";
import { test } from "node:test";
import { getHeapSpaceStatistics, setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { utf8 } from "../../../src/kv/index.ts";
import { makeEngine } from "./engine-fixture.ts";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as (options?: { type: "minor" | "major" }) => void;
const oldSpaceUsed = () =>
  getHeapSpaceStatistics().find((s) => s.space_name === "old_space")?.space_used_size ?? 0;

const WRITES_PER_ROUND = 100;
const PADDING_BYTES = 8 * 1024;
const ROUNDS = 20;

test("a request waiting for its commit is not kept past it by young-generation collections", async () => {
  const engine = await makeEngine({ signatureIntervalTxs: WRITES_PER_ROUND, signatureIntervalMs: 5 });
  /** One round: writes that each wait for their commit on an id that holds 8 KiB. */
  const round = () =>
    Promise.all(
      Array.from({ length: WRITES_PER_ROUND }, async (_, i) => {
        const { txId } = await engine.execute((tx) => tx.typed("m", utf8, utf8).put("k", `${i}`), {
          reservedWrites: false,
        });
        assert.ok(txId !== null);
        const id = { ...txId, padding: new Array<number>(PADDING_BYTES / 8).fill(i) };
        assert.equal(await engine.waitForCommit(id, 10_000), "Committed");
      }),
    );
  for (let r = 0; r < 40; r++) await round();
  gc(); // what is live now (the engine's own structures) goes to the old generation
  const before = oldSpaceUsed();
  for (let r = 0; r < ROUNDS; r++) {
    await round();
    gc({ type: "minor" });
  }
  const grew = oldSpaceUsed() - before;
  await engine.close();
  // The ledger, the tree and the store keep a few hundred bytes per write; the ids alone are
  // 20 rounds × 100 × 8 KiB = 16 MiB, most of which a waiter list that keeps them would promote.
  const ids = ROUNDS * WRITES_PER_ROUND * PADDING_BYTES;
  assert.ok(
    grew < ids / 4,
    `the old generation grew by ${(grew / 2 ** 20).toFixed(1)} MiB over minor collections (ids: ${(ids / 2 ** 20).toFixed(0)} MiB)`,
  );
});
