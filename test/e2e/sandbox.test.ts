// `coterie sandbox` as a newcomer meets it: the curl commands it prints work as printed, Ctrl-C
// stops it cleanly, and running it again restarts the service from its ledger.
import assert from "node:assert/strict";
import { type ChildProcess, execSync, spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { root } from "./harness.ts";

function startSandbox(workspace: string): Promise<{ child: ChildProcess; output: () => string }> {
  const child = spawn(
    process.execPath,
    ["--no-node-snapshot", join(root, "src/cli/main.ts"), "sandbox", "--workspace", workspace, "--port", "0"],
    { cwd: workspace, stdio: ["ignore", "pipe", "pipe"] },
  );
  let out = "";
  child.stdout?.on("data", (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on("data", () => {});
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`sandbox did not start:\n${out}`)), 20_000);
    child.stdout?.on("data", () => {
      if (/^coterie: listening on/m.test(out)) {
        clearTimeout(timer);
        resolve({ child, output: () => out });
      }
    });
  });
}

function exitOf(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => child.once("exit", (code) => resolve(code)));
}

test("the printed curl commands work, Ctrl-C stops cleanly, and a restart keeps the data", async () => {
  const workspace = mkdtempSync(join(tmpdir(), "coterie-sandbox-"));
  let sandbox = await startSandbox(workspace);
  const curls = sandbox
    .output()
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l.startsWith("curl "));
  assert.equal(curls.length, 4, sandbox.output());
  const run = (cmd: string) => execSync(`${cmd} --silent --show-error`, { cwd: workspace, encoding: "utf8" });
  const written = JSON.parse(run(curls[0] as string));
  assert.equal(written.status, "Committed");
  assert.deepEqual(JSON.parse(run(curls[1] as string)), { id: 1, msg: "hello" });
  const txId = written.transaction_id as string;
  assert.deepEqual(JSON.parse(run((curls[2] as string).replace("<from the first response>", txId))), {
    transaction_id: txId,
    status: "Committed",
  });
  const receiptCmd = (curls[3] as string).replace("<id>", txId);
  run(receiptCmd);
  const verify = sandbox
    .output()
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l.startsWith("node src/cli/main.ts"))
    .map((l) =>
      l.replace(
        "node src/cli/main.ts",
        `"${process.execPath}" --no-node-snapshot ${join(root, "src/cli/main.ts")}`,
      ),
    );
  for (const cmd of verify) assert.match(execSync(cmd, { cwd: workspace, encoding: "utf8" }), /OK/);

  const exited = exitOf(sandbox.child);
  sandbox.child.kill("SIGINT");
  assert.equal(await exited, 0, "Ctrl-C stops cleanly");

  sandbox = await startSandbox(workspace);
  const again = sandbox
    .output()
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l.startsWith("curl "));
  assert.deepEqual(JSON.parse(run(again[1] as string)), { id: 1, msg: "hello" }, "data survives the restart");
  const exited2 = exitOf(sandbox.child);
  sandbox.child.kill("SIGINT");
  assert.equal(await exited2, 0);
});
