import assert from "node:assert/strict";
import { test } from "node:test";
import { HEAP_GROWING_PERCENT, tuneHeapForNode } from "../../../src/node/heap-tuning.ts";

const growing = `--heap-growing-percent=${HEAP_GROWING_PERCENT}`;
const noPretenuring = "--no-allocation-site-pretenuring";

test("an operator's --heap-growing-percent on the command line wins", () => {
  assert.deepEqual(tuneHeapForNode(["--heap-growing-percent=40"], ""), [noPretenuring]);
  assert.deepEqual(tuneHeapForNode(["--heap_growing_percent=40"], ""), [noPretenuring]);
});

test("an operator's --heap-growing-percent in NODE_OPTIONS wins", () => {
  assert.deepEqual(tuneHeapForNode([], "--no-node-snapshot --heap-growing-percent=400"), [noPretenuring]);
});

test("an operator's choice about allocation-site pretenuring wins, either way", () => {
  assert.deepEqual(tuneHeapForNode(["--allocation-site-pretenuring"], ""), [growing]);
  assert.deepEqual(tuneHeapForNode([], "--no_allocation_site_pretenuring"), [growing]);
  assert.deepEqual(tuneHeapForNode(["--allocation-site-pretenuring", "--heap-growing-percent=90"], ""), []);
});

test("without them, the node's settings are applied", () => {
  assert.deepEqual(tuneHeapForNode(["--no-node-snapshot"], "--max-semi-space-size=16"), [
    growing,
    noPretenuring,
  ]);
});
