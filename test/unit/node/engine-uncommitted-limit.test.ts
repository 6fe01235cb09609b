// `uncommittedTxsMax` holds at commit, not only when a write arrives: writes held back together
// behind a signature made on the thread pool (P-384) all arrive under the limit, and without a
// second check they would all commit past it.
import assert from "node:assert/strict";
import { test } from "node:test";
import { utf8 } from "../../../src/kv/index.ts";
import { makeEngine } from "./engine-fixture.ts";

test("writes released together behind a signature stop at uncommittedTxsMax; the refused ones change nothing", async () => {
  const uncommittedTxsMax = 3;
  const engine = await makeEngine({ signatureIntervalTxs: 1, uncommittedTxsMax });
  // Nothing commits until the test lets the ledger flush, so the uncommitted count only grows.
  const flush = engine.ledger.flush.bind(engine.ledger);
  let release: () => void = () => {};
  const gate = new Promise<void>((r) => {
    release = r;
  });
  engine.ledger.flush = () => gate.then(flush);
  const put = (i: number) =>
    engine.execute((tx) => tx.typed("m", utf8, utf8).put(`k${i}`, "v"), { reservedWrites: false });
  const outcomes = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => put(i)));
  await engine.signatureSettled();
  const refused = outcomes.filter((o) => o.status === "rejected");
  assert.ok(refused.length > 0, "some writes were refused");
  for (const o of refused)
    assert.equal((o.reason as { code?: string }).code, "COTERIE_ERR_TOO_MANY_REQUESTS");
  // A write commits only below the limit; the signature after it may add one entry.
  assert.ok(
    engine.lastSeqno - engine.committedSeqno <= uncommittedTxsMax + 1,
    `${engine.lastSeqno - engine.committedSeqno} entries wait for commit`,
  );
  const committedKeys = outcomes.filter((o) => o.status === "fulfilled").length;
  const stored = engine.store.beginTx().typed("m", utf8, utf8);
  const present = Array.from({ length: 10 }, (_, i) => stored.get(`k${i}`)).filter((v) => v !== undefined);
  assert.equal(present.length, committedKeys, "a refused write applied nothing");
  release();
  await engine.close();
});
