/** Runs seeds from, from + stride, ... until `count` seeds or the deadline; reports to the parent. */
import { parentPort, workerData } from "node:worker_threads";
import { type RunResult, runSeed } from "./random-run.ts";

export type SeedWorkerInput = { from: number; stride: number; count: number; deadlineMs: number };
export type SeedWorkerOutput = { ran: number; failures: RunResult[]; commits: number; elections: number };

const input = workerData as SeedWorkerInput;
const output: SeedWorkerOutput = { ran: 0, failures: [], commits: 0, elections: 0 };
for (let k = 0; k < input.count && Date.now() < input.deadlineMs; k++) {
  const result = runSeed({ seed: input.from + k * input.stride });
  output.ran++;
  output.commits += result.commits;
  output.elections += result.elections;
  if (result.outcome !== "ok") output.failures.push(result);
}
parentPort!.postMessage(output);
