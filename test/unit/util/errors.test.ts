import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { test } from "node:test";
import { CoterieError, errorCodes } from "../../../src/util/errors.ts";

const doc = readFileSync(resolve(import.meta.dirname, "../../../docs/errors.md"), "utf8");
const documented = new Set([...doc.matchAll(/^### (COTERIE_ERR_[A-Z0-9_]+)$/gm)].map((m) => m[1]));

test("every registered error code is documented in docs/errors.md", () => {
  const missing = Object.keys(errorCodes).filter((c) => !documented.has(c));
  assert.deepEqual(missing, []);
});

test("every documented error code is registered", () => {
  const unknown = [...documented].filter((c) => !((c as string) in errorCodes));
  assert.deepEqual(unknown, []);
});

test("documented status matches the registry", () => {
  for (const [code, { status }] of Object.entries(errorCodes)) {
    const section = doc.split(`### ${code}\n`)[1]?.split("\n### ")[0] ?? "";
    assert.match(section, new RegExp(`HTTP status: ${status}\\b`), `${code} status in docs`);
  }
});

test("CoterieError serialises to the client error shape", () => {
  const e = new CoterieError("COTERIE_ERR_INVALID_INPUT", "id must be a string", {
    details: { field: "id" },
  });
  assert.equal(e.status, 400);
  assert.deepEqual(JSON.parse(JSON.stringify(e)), {
    error: { code: "COTERIE_ERR_INVALID_INPUT", message: "id must be a string", details: { field: "id" } },
  });
});

test("a CoterieError captures no stack, and other errors still do", () => {
  const limit = Error.stackTraceLimit;
  const cause = new Error("underlying");
  const e = new CoterieError("COTERIE_ERR_NOT_FOUND", "no message with id 7", { cause });
  assert.equal(e.stack, "CoterieError: no message with id 7", "no frames: the code and message locate it");
  assert.equal(e.cause, cause);
  assert.equal(Error.stackTraceLimit, limit, "the process-wide limit is restored");
  assert.match(new Error("a fault").stack ?? "", /\n\s+at /, "faults keep their stacks");
});
