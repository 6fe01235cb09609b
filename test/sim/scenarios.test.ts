import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { checkScenarioFile } from "./scenario.ts";

const dir = join(import.meta.dirname, "scenarios");

for (const name of readdirSync(dir)
  .filter((n) => n.endsWith(".txt"))
  .sort()) {
  test(`scenario ${name}`, () => {
    const rendered = checkScenarioFile(join(dir, name));
    assert.equal(
      rendered,
      null,
      `output differs; rerun with COTERIE_REWRITE=1 and review the diff:\n${rendered}`,
    );
  });
}
