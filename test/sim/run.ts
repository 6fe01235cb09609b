/**
 * The simulator's command line. One seed, verbosely:   node test/sim/run.ts --seed 12345
 * A range of seeds:                                    node test/sim/run.ts --from 1 --count 500
 * With a planted bug:                                  node test/sim/run.ts --seed 7 --canary commit-previous-term
 * Exits with the code of the first failure kind found (see exitCodes in random-run.ts).
 */
import { parseArgs } from "node:util";
import type { Canary } from "../../src/consensus/index.ts";
import { exitCodes, runSeed } from "./random-run.ts";

const { values } = parseArgs({
  options: {
    seed: { type: "string" },
    from: { type: "string", default: "1" },
    count: { type: "string", default: "1" },
    canary: { type: "string" },
    quiet: { type: "boolean", default: false },
  },
});

const canary = values.canary as Canary | undefined;
const first = Number(values.seed ?? values.from);
const count = values.seed !== undefined ? 1 : Number(values.count);
const verbose = count === 1 && !values.quiet ? (line: string) => console.log(line) : undefined;
let exitCode: number = exitCodes.ok;
let commits = 0;
let elections = 0;
const started = performance.now();
for (let seed = first; seed < first + count; seed++) {
  const result = runSeed({ seed, ...(canary ? { canary } : {}), ...(verbose ? { verbose } : {}) });
  commits += result.commits;
  elections += result.elections;
  if (result.outcome !== "ok") {
    console.log(`seed ${seed}: ${result.outcome} after ${result.steps} steps: ${result.message}`);
    console.log(`replay: node test/sim/run.ts --seed ${seed}${canary ? ` --canary ${canary}` : ""}`);
    if (exitCode === exitCodes.ok) exitCode = exitCodes[result.outcome];
  } else if (verbose) {
    console.log(`seed ${seed}: ok, ${result.steps} steps, committed up to ${result.commits}`);
  }
}
const ms = Math.round(performance.now() - started);
console.log(
  `${count} seed(s) from ${first} in ${ms} ms; mean ${commits / count} commits, ${elections / count} elections`,
);
process.exitCode = exitCode;
