// The public surface of src/sandbox, snapshotted so that changing it is a deliberate act.
import assert from "node:assert/strict";
import { test } from "node:test";
import * as sandbox from "../../../src/sandbox/index.ts";

test("src/sandbox exports exactly its documented runtime API", () => {
  assert.deepEqual(Object.keys(sandbox).sort(), [
    "createSandbox",
    "sandboxLimitsDefault",
    "validateSandboxLimits",
  ]);
});
