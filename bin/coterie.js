#!/usr/bin/env node
// Entry point of the `coterie` command. An installed package runs the bundled dist/coterie.js (Node
// does not strip types under node_modules); a source checkout runs src/cli/main.ts directly.
// isolated-vm needs --no-node-snapshot, so re-run ourselves with it when it is missing.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const major = Number(process.versions.node.split(".")[0]);
if (major < 24) {
  console.error(`coterie needs Node.js 24 or newer (this is ${process.version})`);
  process.exit(2);
}
const dist = fileURLToPath(new URL("../dist/coterie.js", import.meta.url));
const installed = fileURLToPath(import.meta.url).includes("/node_modules/") && existsSync(dist);
const main = installed ? dist : fileURLToPath(new URL("../src/cli/main.ts", import.meta.url));
const flagged =
  process.execArgv.includes("--no-node-snapshot") ||
  (process.env.NODE_OPTIONS ?? "").includes("--no-node-snapshot");
if (!flagged) {
  const r = spawnSync(process.execPath, ["--no-node-snapshot", main, ...process.argv.slice(2)], {
    stdio: "inherit",
  });
  process.exit(r.status ?? 1);
}
await import(main);
