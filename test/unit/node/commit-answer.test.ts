// A commit answer is written as text around the receipt's text (src/node/app-runner.ts
// `commitAnswerText`); it must be the JSON the object form would serialise to, whatever the handler
// responded.
import assert from "node:assert/strict";
import { test } from "node:test";
import { commitAnswerText } from "../../../src/node/app-runner.ts";

test("the commit answer text is the answer object's JSON for every kind of handler response", () => {
  const receipt = { transaction_id: "2.5", proof: [{ left: "ab" }], cert: "-----BEGIN\nX\n-----END\n" };
  const responses: unknown[] = [
    null,
    { id: 1, msg: 'quote " backslash \\ newline \n snowman ☃ and \u2028' },
    "a string",
    42,
    [1, "two", { three: 3 }],
    true,
    { nested: { undefinedIsDropped: undefined, date: new Date(0) } },
    () => "a function is left out",
    Symbol("left out too"),
  ];
  for (const response of responses) {
    for (const receiptText of ["null", JSON.stringify(receipt)]) {
      const expected = JSON.stringify({
        transaction_id: "2.5",
        status: "Committed",
        receipt: JSON.parse(receiptText),
        response,
      });
      assert.equal(commitAnswerText("2.5", receiptText, response), expected, String(response));
    }
  }
});
