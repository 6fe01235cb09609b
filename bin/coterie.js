#!/usr/bin/env node
// Entry point of the `coterie` command. Node 24 runs the TypeScript sources directly (type
// stripping); isolated-vm needs --no-node-snapshot, so re-run ourselves with it when missing.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const major = Number(process.versions.node.split(".")[0]);
if (major < 24) {
  console.error(`coterie needs Node.js 24 or newer (this is ${process.version})`);
  process.exit(2);
}
const main = fileURLToPath(new URL("../src/cli/main.ts", import.meta.url));
if (
  !process.execArgv.includes("--no-node-snapshot") &&
  !(process.env.NODE_OPTIONS ?? "").includes("--no-node-snapshot")
) {
  const r = spawnSync(process.execPath, ["--no-node-snapshot", main, ...process.argv.slice(2)], {
    stdio: "inherit",
  });
  process.exit(r.status ?? 1);
}
await import(main);
