#!/usr/bin/env node
// Entry point of the `coterie` command. An installed package runs the bundled dist/coterie.js (Node
// does not strip types under node_modules); a source checkout runs src/cli/main.ts directly.
// isolated-vm needs --no-node-snapshot; it and the heap flags below are added by re-running ourselves.
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
// V8 heap sizing for a node (docs/performance.md, "Memory"): a small young generation (the default
// lets it reach 128 MiB on this machine) and an old generation that grows 20% past the live heap
// between full collections (the default lets it reach several times the live heap under load).
// They only take effect on the command line, so missing ones are added by re-running ourselves.
const flags = ["--no-node-snapshot", "--max-semi-space-size=8", "--heap-growing-percent=20"];
const given = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? "").split(/\s+/)];
const missing = flags.filter((f) => !given.some((g) => g.split("=")[0] === f.split("=")[0]));
if (missing.length > 0) {
  const r = spawnSync(process.execPath, [...missing, main, ...process.argv.slice(2)], {
    stdio: "inherit",
  });
  process.exit(r.status ?? 1);
}
await import(main);
