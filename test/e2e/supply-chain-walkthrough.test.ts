// The supply-chain README walkthrough, as a script, against `coterie sandbox`: so the walkthrough
// stays true. Needs `sh` and `curl` (skips with a message otherwise).
import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { root } from "./harness.ts";

const hasCurl = spawnSync("curl", ["--version"]).status === 0;

test("apps/supply-chain/walkthrough.sh: each party sees its orders, the auditor its supplier's, then the same as a bundle", {
  skip: hasCurl ? false : "curl is not installed",
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), "coterie-walkthrough-"));
  const out = await new Promise<string>((resolve, reject) => {
    execFile(
      "sh",
      [join(root, "apps/supply-chain/walkthrough.sh"), dir],
      { cwd: root, timeout: 180_000 },
      (error, stdout, stderr) =>
        error ? reject(new Error(`${error.message}\n${stdout}\n${stderr}`)) : resolve(stdout),
    );
  });
  const line = (prefix: string) => out.split("\n").find((l) => l.startsWith(prefix)) ?? `(no line ${prefix})`;
  assert.equal(
    line("retailer-x sees:"),
    "retailer-x sees: supplier-a:retailer-x:po-1 supplier-b:retailer-x:po-2",
  );
  assert.equal(line("supplier-a sees:"), "supplier-a sees: supplier-a:retailer-x:po-1");
  assert.equal(line("supplier-b sees:"), "supplier-b sees: supplier-b:retailer-x:po-2");
  assert.equal(line("auditor-1 sees:"), "auditor-1 sees: supplier-a:retailer-x:po-1");
  // A hidden order answers exactly like a missing one (only the id in the message differs).
  const hidden = line("supplier-b reads po-1:").replace(/po-1/g, "X");
  assert.equal(hidden, line("supplier-b reads po-9:").replace(/po-9/g, "X"));
  assert.match(line("supplier-b receipt of po-1:"), /COTERIE_ERR_RECEIPT_UNAVAILABLE/);
  assert.match(line("auditor-1 receipt of po-1:"), /"transaction_id"/);
  assert.match(out, /now serving the governed bundle/);
  assert.equal(line("auditor-1 sees (bundle):"), "auditor-1 sees (bundle): supplier-a:retailer-x:po-1");
});
