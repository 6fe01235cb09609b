// assert: a message given as a function is formatted only when the invariant is broken.
import nodeAssert from "node:assert/strict";
import { test } from "node:test";
import { assert, InvariantError } from "../../../src/util/assert.ts";

test("assert throws InvariantError with the message, formatting a function message only on failure", () => {
  let formatted = 0;
  const message = () => {
    formatted++;
    return `entry ${7} after ${5}`;
  };
  assert(true, message);
  nodeAssert.equal(formatted, 0, "a holding invariant formats nothing");
  nodeAssert.throws(() => assert(false, message), { name: "InvariantError", message: "entry 7 after 5" });
  nodeAssert.equal(formatted, 1);
  nodeAssert.throws(
    () => assert(0, "plain"),
    (e: unknown) => e instanceof InvariantError && e.message === "plain",
  );
});
