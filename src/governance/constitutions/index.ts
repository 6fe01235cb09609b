/**
 * The shipped constitutions as module sources. Each is `actions.js` (the action library) followed
 * by one policy file; the result is one self-contained ES module, which is what
 * `set_constitution` takes and what genesis installs (`default`).
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

export const shippedConstitutions = ["default", "veto", "operator"] as const;
export type ShippedConstitution = (typeof shippedConstitutions)[number];

// Beside this file in a checkout; in the bundled package, tools/build-dist.ts copies the sources
// to dist/constitutions/ (the bundle's own directory is dist/).
const dir = existsSync(join(import.meta.dirname, "constitutions", "actions.js"))
  ? join(import.meta.dirname, "constitutions")
  : import.meta.dirname;
const cache = new Map<ShippedConstitution, string>();

/** The full module source of a shipped constitution. */
export function constitutionSource(name: ShippedConstitution): string {
  let source = cache.get(name);
  if (source === undefined) {
    const library = readFileSync(join(dir, "actions.js"), "utf8");
    const policy = readFileSync(join(dir, `${name}.js`), "utf8");
    source = `${library}\n// ---- ${name}.js\n${policy}`;
    cache.set(name, source);
  }
  return source;
}
