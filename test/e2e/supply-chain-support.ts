// Builds an app directory into a bundle file for end-to-end tests (served with `--app FILE.bundle.js`).
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { buildAppBundle } from "../../src/cli/app.ts";
import { root } from "./harness.ts";

export async function buildBundleFile(dir: string): Promise<string> {
  const source = await buildAppBundle(resolve(root, dir));
  const path = join(mkdtempSync(join(tmpdir(), "coterie-bundle-")), "app.bundle.js");
  writeFileSync(path, source);
  return path;
}
