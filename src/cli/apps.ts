/** Applications the `coterie` command can serve by name, or from a module path. */

import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import logging from "../../apps/logging/index.ts";
import supplyChain from "../../apps/supply-chain/index.ts";
import type { App } from "../app/index.ts";
import { loadBundle } from "../node/bundle.ts";

const builtin: Record<string, App> = { logging, "supply-chain": supplyChain };

export async function loadApp(nameOrPath: string): Promise<App> {
  const known = builtin[nameOrPath];
  if (known) return known;
  // A built bundle (`coterie app build`) served from the sandbox without governance: for development.
  if (nameOrPath.endsWith(".bundle.js")) return loadBundle(readFileSync(resolve(nameOrPath), "utf8")).app;
  const mod = (await import(pathToFileURL(resolve(nameOrPath)).href)) as { default?: App };
  if (!mod.default) throw new Error(`${nameOrPath} has no default export (an app from defineApp)`);
  return mod.default;
}
