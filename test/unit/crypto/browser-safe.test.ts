// The verification code shared with the browser SDK must bundle for browsers: no `node:` import in
// our files or in the packages they pull in (esbuild fails on a Node built-in for platform=browser).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { test } from "node:test";
import { build } from "esbuild";

const browserSafe = ["cose.ts", "cose-receipt.ts", "merkle.ts", "receipt.ts", "shamir.ts"].map((f) =>
  resolve(import.meta.dirname, "../../../src/crypto", f),
);

test("browser-safe crypto files import no node: module and only src/util or each other", () => {
  for (const file of browserSafe) {
    const text = readFileSync(file, "utf8");
    const specs = [...text.matchAll(/from\s+["']([^"']+)["']/g)].map((m) => m[1]!);
    for (const spec of specs) {
      assert.ok(!spec.startsWith("node:"), `${file} imports ${spec}`);
      if (spec.startsWith("."))
        assert.match(spec, /^\.\/(merkle|cose|receipt)\.ts$|^\.\.\/util\//, `${file} imports ${spec}`);
    }
  }
});

test("they bundle for platform=browser with their packages", async () => {
  const result = await build({
    stdin: {
      contents: browserSafe.map((f) => `export * from ${JSON.stringify(f)};`).join("\n"),
      resolveDir: "/",
    },
    bundle: true,
    platform: "browser",
    format: "esm",
    write: false,
    logLevel: "silent",
  });
  assert.equal(result.errors.length, 0);
  const code = new TextDecoder().decode(result.outputFiles[0]!.contents);
  assert.ok(
    !/from\s*["']node:/.test(code) && !/require\(["']node:/.test(code),
    "no node: import in the bundle",
  );
});
