import assert from "node:assert/strict";
import { test } from "node:test";
import { ViewHistory } from "../../../src/node/view-history.ts";

test("the view of every seqno, across view changes and a rollback", () => {
  const h = new ViewHistory(3);
  for (let s = 1; s <= 4; s++) h.record(1, s);
  for (let s = 5; s <= 9; s++) h.record(2, s);
  for (let s = 10; s <= 12; s++) h.record(3, s);
  assert.deepEqual(
    [1, 4, 5, 9, 10, 12].map((s) => h.viewOf(s)),
    [1, 1, 2, 2, 3, 3],
  );
  h.truncate(7);
  assert.deepEqual(h.starts(), [
    [1, 1],
    [2, 5],
  ]);
  assert.throws(() => h.record(1, 8), /view history grows/);
  assert.throws(() => h.startView(2), /views only increase/);
});
