/** Applications the `coterie` command can serve by name, or from a module path. */

import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import logging from "../../apps/logging/index.ts";
import type { App } from "../app/index.ts";

const builtin: Record<string, App> = { logging };

export async function loadApp(nameOrPath: string): Promise<App> {
  const known = builtin[nameOrPath];
  if (known) return known;
  const mod = (await import(pathToFileURL(resolve(nameOrPath)).href)) as { default?: App };
  if (!mod.default) throw new Error(`${nameOrPath} has no default export (an app from defineApp)`);
  return mod.default;
}
