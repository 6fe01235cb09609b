// Real node processes on loopback for end-to-end tests: start `coterie start` as a child process,
// talk to it over mutual TLS with a pinned service certificate, kill it with SIGKILL, restart it.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { Agent, request } from "node:https";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { ensureIdentityFiles, type IdentityFiles } from "../../src/cli/identity-files.ts";

export const root = resolve(import.meta.dirname, "../..");
const cli = join(root, "src/cli/main.ts");

export type Workspace = {
  dir: string;
  configPath: string;
  user: IdentityFiles;
  member: IdentityFiles;
  other: IdentityFiles;
};

/** A fresh workspace with a member, a user and a stranger (a certificate the service does not know). */
export async function makeWorkspace(config: Record<string, unknown> = {}): Promise<Workspace> {
  const dir = mkdtempSync(join(tmpdir(), "coterie-e2e-"));
  const member = await ensureIdentityFiles(dir, "member0");
  const user = await ensureIdentityFiles(dir, "user0");
  const other = await ensureIdentityFiles(dir, "stranger");
  const configPath = join(dir, "node.config.json");
  const full = {
    dataDir: "node0",
    rpc: { host: "127.0.0.1", port: 0 },
    genesis: { members: [{ cert: "member0_cert.pem" }], users: [{ cert: "user0_cert.pem" }], open: true },
    ...config,
  };
  writeFileSync(configPath, JSON.stringify(full, null, 2));
  return { dir, configPath, user, member, other };
}

export type NodeProcess = { child: ChildProcess; url: string; serviceCert: string; stderr: () => string };

/** Starts `coterie start` and resolves once it prints its address. */
export function startNodeProcess(ws: Workspace, app = "logging", timeoutMs = 20_000): Promise<NodeProcess> {
  return spawnCli(
    ["start", "--config", ws.configPath, "--app", app],
    join(ws.dir, "node0", "service_cert.pem"),
    timeoutMs,
  );
}

/**
 * Runs the CLI with `args` until it prints "listening on URL" (`coterie start`, `recover start`);
 * `certPath` is the service certificate it writes by then.
 */
export function spawnCli(args: string[], certPath: string, timeoutMs = 30_000): Promise<NodeProcess> {
  const child = spawn(process.execPath, ["--no-node-snapshot", cli, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stderr?.on("data", (d: Buffer) => {
    err += d.toString();
  });
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${args[0]} did not start within ${timeoutMs} ms:\n${out}\n${err}`));
    }, timeoutMs);
    child.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /listening on (https:\/\/[\d.]+:\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        const serviceCert = readFileSync(certPath, "utf8");
        resolvePromise({ child, url: m[1] as string, serviceCert, stderr: () => `${out}\n${err}` });
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${args[0]} exited with ${code} before listening:\n${out}\n${err}`));
    });
  });
}

export function killNode(node: NodeProcess, signal: NodeJS.Signals = "SIGKILL"): Promise<number | null> {
  return new Promise((resolvePromise) => {
    // Already gone (an exit code, or killed by a signal): 'exit' has fired and will not again.
    if (node.child.exitCode !== null || node.child.signalCode !== null)
      return resolvePromise(node.child.exitCode);
    node.child.once("exit", (code) => resolvePromise(code));
    node.child.kill(signal);
  });
}

// biome-ignore lint/suspicious/noExplicitAny: tests check response bodies field by field
type Json = any;

export type Response = {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  json: () => Json;
};

export type Client = {
  get(path: string): Promise<Response>;
  post(path: string, body: unknown, headers?: Record<string, string>): Promise<Response>;
  raw(
    method: string,
    path: string,
    body: string | Buffer,
    headers: Record<string, string>,
  ): Promise<Response>;
  close(): void;
};

/** A keep-alive mTLS client pinned to the service certificate; `identity` null sends no certificate. */
export function client(node: NodeProcess, identity: IdentityFiles | null): Client {
  const agent = new Agent({
    keepAlive: true,
    maxSockets: 64,
    ca: node.serviceCert,
    ...(identity ? { cert: readFileSync(identity.certPath), key: readFileSync(identity.keyPath) } : {}),
  });
  const raw = (method: string, path: string, body: string | Buffer, headers: Record<string, string>) =>
    new Promise<Response>((resolvePromise, reject) => {
      const req = request(`${node.url}${path}`, { method, agent, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString();
          resolvePromise({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: text,
            json: () => JSON.parse(text),
          });
        });
      });
      req.on("error", reject);
      req.end(body);
    });
  return {
    get: (path) => raw("GET", path, "", {}),
    post: (path, body, headers = {}) =>
      raw("POST", path, JSON.stringify(body), { "content-type": "application/json", ...headers }),
    raw,
    close: () => agent.destroy(),
  };
}

/** Runs the CLI to completion (for offline subcommands); after `timeoutMs` it is killed (status null). */
export function runCli(
  args: string[],
  timeoutMs?: number,
): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ["--no-node-snapshot", cli, ...args], {
    encoding: "utf8",
    ...(timeoutMs === undefined ? {} : { timeout: timeoutMs }),
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
