// The public API of `coterie/app` (src/app/index.ts) and of the in-sandbox API apps are bundled
// against (src/app/guest.ts): a snapshot, so API changes are deliberate. Names an app imports from
// one must exist in the other, or the same source would not build both ways.
import assert from "node:assert/strict";
import { test } from "node:test";
import * as guest from "../../../src/app/guest.ts";
import * as api from "../../../src/app/index.ts";

test("src/app/index.ts exports exactly these values", () => {
  assert.deepEqual(Object.keys(api).sort(), [
    "CoterieError",
    "Router",
    "checkConfidentialSpec",
    "checkEndpointShape",
    "checkSchema",
    "confidentialTable",
    "defineApp",
    "defineTable",
    "endpointsMax",
    "guardTx",
    "isWellFormedAuth",
    "json",
    "mayReadBytes",
    "openApiOf",
    "partiesOfRecord",
    "policyNamesOf",
    "raw",
    "readerPartiesOf",
    "u64",
    "utf8",
    "withOpenApi",
  ]);
});

test("the in-sandbox API offers every value an app author imports", () => {
  const authorFacing = [
    "CoterieError",
    "confidentialTable",
    "defineApp",
    "defineTable",
    "json",
    "raw",
    "u64",
    "utf8",
  ];
  for (const name of authorFacing) {
    assert.equal(
      typeof (guest as Record<string, unknown>)[name],
      typeof (api as Record<string, unknown>)[name],
      name,
    );
  }
});
