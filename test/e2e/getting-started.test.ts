// Runs docs/getting-started.md: every ```sh test block in order in one bash shell against a fresh
// sandbox started by the ```sh test-background block, with the ```ts file=NAME blocks written
// first. The doc's last section ("How this page is tested") states the only substitutions made:
// a free port instead of 8000, `--port` for `make sandbox`, and no package reinstall by make.
import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { root } from "./harness.ts";

type Block = { lang: string; tag: string; body: string };

const doc = readFileSync(join(root, "docs/getting-started.md"), "utf8");
const blocks: Block[] = [...doc.matchAll(/^```(\S+)(?: ([^\n]*))?\n([\s\S]*?)^```$/gm)].map((m) => ({
  lang: m[1] as string,
  tag: (m[2] ?? "").trim(),
  body: m[3] as string,
}));
/** Entries of the clone the scratch directory links to (not its workspace or results). */
const LINKED = new Set(["workspace", "test-results", "scratch", ".git", "out", "hello.ts", "vote.ts"]);

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function substitute(text: string, port: number): string {
  return text
    .replaceAll("make sandbox", `make -o node_modules/.installed sandbox ARGS="--port ${port}"`)
    .replaceAll("127.0.0.1:8000", `127.0.0.1:${port}`);
}

function runScript(dir: string, script: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync("bash", ["-c", `set -euo pipefail\n${script}`], {
    cwd: dir,
    encoding: "utf8",
    timeout: 120_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("docs/getting-started.md", () => {
  let dir: string;
  let port: number;
  let sandbox: ChildProcess;
  let sandboxOut = "";
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "coterie-getting-started-"));
    for (const name of readdirSync(root))
      if (!LINKED.has(name)) symlinkSync(join(root, name), join(dir, name));
    port = await freePort();
    for (const b of blocks) {
      const file = /^file=(\S+)$/.exec(b.tag)?.[1];
      if (b.lang === "ts" && file !== undefined) writeFileSync(join(dir, file), substitute(b.body, port));
    }
    const background = blocks.filter((b) => b.tag === "test-background").map((b) => substitute(b.body, port));
    assert.equal(background.length, 1, "exactly one background block starts the sandbox");
    sandbox = spawn("bash", ["-c", background[0] as string], {
      cwd: dir,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    sandbox.stdout?.on("data", (d: Buffer) => {
      sandboxOut += d.toString();
    });
    sandbox.stderr?.on("data", (d: Buffer) => {
      sandboxOut += d.toString();
    });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`sandbox did not start:\n${sandboxOut}`)), 60_000);
      const poll = setInterval(() => {
        if (/listening on https:\/\//.test(sandboxOut)) {
          clearInterval(poll);
          clearTimeout(timer);
          resolve();
        }
      }, 50);
      sandbox.once("exit", (code) => reject(new Error(`sandbox exited with ${code}:\n${sandboxOut}`)));
    });
  });
  after(() => {
    if (sandbox?.pid !== undefined && sandbox.exitCode === null) process.kill(-sandbox.pid, "SIGTERM");
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  test("the sandbox prints how to reach it", () => {
    assert.match(sandboxOut, new RegExp(`sandbox listening on https://127\\.0\\.0\\.1:${port}`));
    assert.match(sandboxOut, /service certificate: +workspace\/sandbox\/node0\/service_cert\.pem/);
  });

  test("every `sh test` block runs, in order, and says what the doc says", () => {
    const script = blocks
      .filter((b) => b.lang === "sh" && b.tag === "test")
      .map((b) => substitute(b.body, port))
      .join("\n");
    const r = runScript(dir, script);
    assert.equal(r.status, 0, `stdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
    for (const expected of [
      /"transaction_id":"\d+\.\d+"/,
      /\{"id":1,"msg":"hello"\}/,
      /"status":"(Pending|Committed)"/,
      /"status":"Committed","receipt":/,
      /"code":"COTERIE_ERR_NOT_FOUND"/,
      /receipt OK: transaction \d+\.\d+/,
      /ledger OK: \d+ entries/,
      /committed \d+\.\d+, receipt verified/,
      /read back: \{ id: 11, msg: 'later' \}/,
      /no message 999, as expected/,
      /postAppLogPrivate: \(/,
      /proposal [0-9a-f]{64}: Open/,
      /after the vote: Accepted/,
      /\{"id":1,"msg":"hello"\}\s*$/,
    ]) {
      assert.match(r.stdout, expected);
    }
    assert.match(readFileSync(join(dir, "logging-client.ts"), "utf8"), /export function createLoggingClient/);
  });
});
