// `npx coterie` must work for someone who installed the package on Node 24: pack it as npm would
// publish it, install the tarball into an empty project, and run the installed command.
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { root } from "./harness.ts";

test("the packed package installs and `npx coterie` runs from node_modules", { timeout: 300_000 }, () => {
  const packDir = mkdtempSync(join(tmpdir(), "coterie-pack-"));
  execFileSync("npm", ["pack", "--pack-destination", packDir, "--loglevel=error"], {
    cwd: root,
    stdio: "pipe",
  });
  const tarball = join(packDir, readdirSync(packDir).find((n) => n.endsWith(".tgz")) as string);
  const project = mkdtempSync(join(tmpdir(), "coterie-user-"));
  writeFileSync(
    join(project, "package.json"),
    JSON.stringify({ name: "user-project", private: true, type: "module" }),
  );
  execFileSync("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error", tarball], {
    cwd: project,
    stdio: "pipe",
  });

  const help = spawnSync("npx", ["coterie", "--help"], { cwd: project, encoding: "utf8" });
  assert.equal(help.status, 0, help.stderr);
  assert.match(help.stdout, /usage: coterie <command>/);
  const keygen = spawnSync("npx", ["coterie", "keygen", "--name", "alice", "--out", "ids"], {
    cwd: project,
    encoding: "utf8",
  });
  assert.equal(keygen.status, 0, keygen.stderr);
  assert.deepEqual(readdirSync(join(project, "ids")).sort(), ["alice_cert.pem", "alice_privk.pem"]);
  const client = spawnSync(
    process.execPath,
    [
      "--input-type=module",
      "-e",
      "const c = await import('coterie/client'); console.log(typeof c.createClient)",
    ],
    { cwd: project, encoding: "utf8" },
  );
  assert.equal(client.status, 0, client.stderr);
  assert.equal(client.stdout.trim(), "function");
});
