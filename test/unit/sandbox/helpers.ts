import assert from "node:assert/strict";
import { isCoterieError } from "../../../src/util/errors.ts";

/** Runs `fn`, expecting a CoterieError with `code`; returns it for further checks. */
export function expectCode(fn: () => unknown, code: string) {
  try {
    fn();
  } catch (error) {
    assert.ok(isCoterieError(error), `expected CoterieError ${code}, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    return error;
  }
  assert.fail(`expected ${code}, but nothing was thrown`);
}

export const MiB = 1024 * 1024;
