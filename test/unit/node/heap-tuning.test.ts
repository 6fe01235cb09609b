import assert from "node:assert/strict";
import { test } from "node:test";
import { tuneHeapForNode } from "../../../src/node/heap-tuning.ts";

test("an operator's --heap-growing-percent on the command line wins", () => {
  assert.equal(tuneHeapForNode(["--heap-growing-percent=40"], ""), false);
  assert.equal(tuneHeapForNode(["--heap_growing_percent=40"], ""), false);
});

test("an operator's --heap-growing-percent in NODE_OPTIONS wins", () => {
  assert.equal(tuneHeapForNode([], "--no-node-snapshot --heap-growing-percent=400"), false);
});

test("without one, the node's setting is applied", () => {
  assert.equal(tuneHeapForNode(["--no-node-snapshot"], "--max-semi-space-size=16"), true);
});
