import assert from "node:assert/strict";
import { test } from "node:test";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { SeqnoQueue } from "../../../src/util/seqno-queue.ts";

test("values come out by seqno; a taken seqno drops every older one", () => {
  const q = new SeqnoQueue<string>();
  for (const s of [3, 4, 7, 9]) q.push(s, `v${s}`);
  assert.equal(q.size, 4);
  assert.equal(q.take(5), undefined, "5 was never pushed; 3 and 4 are dropped on the way");
  assert.equal(q.size, 2);
  assert.equal(q.take(7), "v7");
  assert.equal(q.take(7), undefined, "taken once");
  assert.equal(q.take(9), "v9");
  assert.equal(q.size, 0);
  assert.equal(q.take(10), undefined);
});

test("get finds a held value by seqno without removing it, consecutive or not", () => {
  const q = new SeqnoQueue<string>();
  assert.equal(q.get(1), undefined);
  assert.equal(q.firstSeqno, undefined);
  for (let s = 10; s <= 20; s++) q.push(s, `v${s}`);
  assert.equal(q.firstSeqno, 10);
  for (let s = 10; s <= 20; s++) assert.equal(q.get(s), `v${s}`);
  for (const s of [9, 21, 15.5, -1]) assert.equal(q.get(s), undefined);
  assert.equal(q.size, 11, "get removes nothing");
  q.take(13);
  assert.equal(q.firstSeqno, 14);
  assert.equal(q.get(12), undefined, "dropped on the way to 13");
  assert.equal(q.get(14), "v14");
  q.push(25, "v25");
  q.push(40, "v40");
  for (const [s, v] of [
    [14, "v14"],
    [20, "v20"],
    [25, "v25"],
    [40, "v40"],
  ] as const)
    assert.equal(q.get(s), v);
  for (const s of [21, 24, 26, 39, 41]) assert.equal(q.get(s), undefined, `a gap: ${s}`);
  q.dropFrom(20);
  assert.equal(q.get(25), undefined);
  assert.equal(q.get(19), "v19");
});

test("seqnos must ascend", () => {
  const q = new SeqnoQueue<number>();
  q.push(5, 5);
  assert.throws(() => q.push(5, 5), RangeError);
  assert.throws(() => q.push(4, 4), RangeError);
  q.take(5);
  q.push(6, 6); // above what was taken
  assert.equal(q.take(6), 6);
});

test("a rollback drops every value at or above its seqno, and later seqnos may be pushed again", () => {
  const q = new SeqnoQueue<string>();
  for (let s = 1; s <= 5; s++) q.push(s, `old${s}`);
  q.dropFrom(3);
  assert.equal(q.size, 2);
  q.push(3, "new3");
  assert.equal(q.take(2), "old2");
  assert.equal(q.take(3), "new3");
  q.dropFrom(1);
  assert.equal(q.size, 0);
  q.push(1, "again");
  assert.equal(q.take(1), "again");
});

test("order and contents survive reclaiming the consumed prefix", () => {
  const q = new SeqnoQueue<number>();
  for (let s = 1; s <= 5000; s++) q.push(s, s * 10);
  for (let s = 1; s <= 3000; s++) assert.equal(q.take(s), s * 10);
  for (let s = 5001; s <= 6000; s++) q.push(s, s * 10);
  assert.equal(q.size, 3000);
  for (let s = 3001; s <= 6000; s++) assert.equal(q.take(s), s * 10);
  assert.equal(q.size, 0);
});

test("a taken or dropped value is no longer referenced by the queue", async () => {
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as () => void;
  const q = new SeqnoQueue<object>();
  const finalized: number[] = [];
  const registry = new FinalizationRegistry<number>((s) => finalized.push(s));
  // Made in a function of their own, so no local of this test keeps them.
  ((): void => {
    for (let s = 1; s <= 6; s++) {
      const value = { s };
      registry.register(value, s);
      q.push(s, value);
    }
  })();
  q.take(2); // drops 1, takes 2
  q.dropFrom(5); // drops 5 and 6
  for (let i = 0; i < 10 && finalized.length < 4; i++) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.deepEqual(
    finalized.sort((a, b) => a - b),
    [1, 2, 5, 6],
  );
  assert.equal(q.size, 2, "3 and 4 are still held");
});
