// Checks the layering rule of ../shared/DESIGN.md: imports go downward only, and the browser SDK
// (src/client) reaches no `node:` module through any chain of imports. CCF's rule drifted because
// nothing checked it; ours is checked here.
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { test } from "node:test";

const root = resolve(import.meta.dirname, "../..");
const src = join(root, "src");

/** What each src/ folder may import (besides itself and third-party packages). */
const allowed: Record<string, readonly string[]> = {
  util: [],
  crypto: ["util"],
  kv: ["util", "crypto"],
  tables: ["util", "kv"],
  ledger: ["util", "crypto", "kv", "tables"],
  consensus: ["util"],
  attestation: ["util", "crypto"],
  sandbox: ["util"],
  governance: ["util", "crypto", "kv", "tables", "ledger", "sandbox", "attestation"],
  app: ["util", "crypto", "kv", "tables", "ledger", "sandbox"],
  client: ["util", "crypto", "ledger"],
  node: [
    "util",
    "crypto",
    "kv",
    "tables",
    "ledger",
    "consensus",
    "attestation",
    "sandbox",
    "governance",
    "app",
  ],
  cli: [
    "util",
    "crypto",
    "kv",
    "tables",
    "ledger",
    "consensus",
    "attestation",
    "sandbox",
    "governance",
    "app",
    "node",
    "client",
  ],
};

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...tsFiles(path));
    else if (name.endsWith(".ts")) out.push(path);
  }
  return out;
}

const importPattern =
  /(?:^|\n)\s*(?:import|export)[^'"`;]*?from\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g;

function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const specs: string[] = [];
  for (const m of text.matchAll(importPattern)) specs.push((m[1] ?? m[2]) as string);
  return specs;
}

function folderOf(file: string): string {
  return relative(src, file).split("/")[0] as string;
}

test("every src/ folder is declared in the layer table and has a README", () => {
  for (const name of readdirSync(src)) {
    if (!statSync(join(src, name)).isDirectory()) continue;
    assert.ok(name in allowed, `src/${name} is missing from the layer table in this test`);
    assert.ok(statSync(join(src, name, "README.md")).isFile(), `src/${name}/README.md is missing`);
  }
});

test("imports go downward only", () => {
  const violations: string[] = [];
  for (const file of tsFiles(src)) {
    const from = folderOf(file);
    for (const spec of importsOf(file)) {
      if (!spec.startsWith(".")) continue;
      const target = resolve(dirname(file), spec);
      if (!target.startsWith(src)) {
        // The command serves the sample apps by name; nothing else in src/ reaches outside it.
        const servesSamples = from === "cli" && target.startsWith(join(root, "apps"));
        if (!servesSamples) violations.push(`${relative(root, file)} imports outside src/: ${spec}`);
        continue;
      }
      const to = folderOf(target);
      if (to !== from && !(allowed[from] ?? []).includes(to)) {
        violations.push(`${relative(root, file)} (${from}) imports ${to}: ${spec}`);
      }
    }
  }
  assert.deepEqual(violations, []);
});

test("sample apps import only the public app API", () => {
  const violations: string[] = [];
  for (const file of tsFiles(join(root, "apps"))) {
    for (const spec of importsOf(file)) {
      if (!spec.startsWith(".")) continue;
      const target = resolve(dirname(file), spec);
      if (target.startsWith(src) && target !== join(src, "app", "index.ts")) {
        violations.push(
          `${relative(root, file)} imports ${spec}; apps use src/app/index.ts (coterie/app) only`,
        );
      }
    }
  }
  assert.deepEqual(violations, []);
});

test("src/util and src/client reach no node: module (browser-safe)", () => {
  const violations: string[] = [];
  const seen = new Set<string>();
  const roots = tsFiles(src).filter((f) => ["client", "util"].includes(folderOf(f)));
  const stack = roots.map((f) => ({ file: f, via: [relative(root, f)] }));
  while (stack.length > 0) {
    const { file, via } = stack.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const spec of importsOf(file)) {
      if (spec.startsWith("node:")) violations.push(`${via.join(" -> ")} -> ${spec}`);
      else if (spec.startsWith(".")) {
        const next = resolve(dirname(file), spec);
        stack.push({ file: next, via: [...via, relative(root, next)] });
      }
    }
  }
  assert.deepEqual(violations, []);
});
