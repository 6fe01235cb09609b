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

  // The installed package builds a sample app into a bundle and serves it: the shipped
  // constitutions and the sandbox's child process must be found from dist/, not from src/.
  const built = spawnSync(
    "npx",
    ["coterie", "app", "build", "node_modules/coterie/apps/supply-chain", "--out", "sc.bundle.js"],
    { cwd: project, encoding: "utf8" },
  );
  assert.equal(built.status, 0, built.stderr);
  const served = spawnSync(
    process.execPath,
    [
      "--input-type=module",
      "-e",
      `
      import { spawn } from "node:child_process";
      import { readFileSync } from "node:fs";
      import { request } from "node:https";
      const child = spawn("npx", ["coterie", "sandbox", "--workspace", "w", "--port", "0", "--app", "sc.bundle.js"], { stdio: ["ignore", "pipe", "inherit"], detached: true });
      const stop = (code) => { try { process.kill(-child.pid, "SIGKILL"); } catch {} process.exit(code); };
      let out = "";
      const timer = setTimeout(() => stop(3), 60000);
      child.stdout.on("data", (d) => {
        out += d;
        const m = new RegExp("listening on (https://[0-9.:]+)").exec(out);
        if (!m) return;
        child.stdout.removeAllListeners("data");
        const opts = { ca: readFileSync("w/node0/service_cert.pem"), cert: readFileSync("w/user0_cert.pem"), key: readFileSync("w/user0_privk.pem") };
        request(m[1] + "/app/openapi.json", opts, (res) => {
          let body = "";
          res.on("data", (c) => (body += c));
          res.on("end", () => { console.log(JSON.parse(body).info.title); clearTimeout(timer); stop(0); });
        }).end();
      });
      `,
    ],
    { cwd: project, encoding: "utf8", timeout: 90_000 },
  );
  assert.equal(served.status, 0, served.stderr);
  assert.equal(served.stdout.trim(), "supply-chain", "the installed node serves the bundle's API");
});
