/**
 * `coterie sandbox --nodes N`: a local N-node network on loopback, one process per node. This
 * process runs node 0 (which creates the service); nodes 1..N-1 are child processes of
 * `coterie start` whose configurations join node 0 — trusted at once, since the service is not open
 * yet. Node k serves clients on port + k. Ctrl-C stops the children, then node 0.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { NodeConfig } from "../node/config.ts";
import type { RunningNode } from "../node/node.ts";

/** How long the sandbox waits for a joining node to print its address. */
const JOIN_WAIT_MS = 60_000;

/**
 * The `node0.config.json` the sandbox writes into a workspace that has none (paths relative to the
 * workspace); a `--nodes N > 1` sandbox adds node-to-node settings.
 */
export function sandboxNode0Config(port: number, nodes: number): Record<string, unknown> {
  return {
    dataDir: "node0",
    rpc: { host: "127.0.0.1", port },
    genesis: { members: [{ cert: "member0_cert.pem" }], users: [{ cert: "user0_cert.pem" }], open: false },
    ...(nodes > 1 ? { nodeToNode: { host: "127.0.0.1", port: 0 } } : {}),
  };
}

/**
 * Writes `nodeK.config.json` (join through node 0, with node 0's `nodeKey`, `signatures` and
 * `ledger` settings, so that whichever node leads signs on the same curve and intervals) unless it
 * exists; returns its path.
 */
export function joinerConfig(
  workspace: string,
  k: number,
  port: number,
  node0: RunningNode,
  config0: NodeConfig,
): string {
  const path = join(workspace, `node${k}.config.json`);
  if (!existsSync(path)) {
    const config = {
      dataDir: `node${k}`,
      rpc: { host: "127.0.0.1", port: port === 0 ? 0 : port + k },
      nodeToNode: { host: "127.0.0.1", port: 0 },
      join: { target: node0.url, serviceCertificate: join("node0", "service_cert.pem") },
      nodeKey: { ...config0.nodeKey },
      signatures: { ...config0.signatures },
      ledger: { ...config0.ledger },
    };
    writeFileSync(path, `${JSON.stringify(config, null, 2)}\n`);
  }
  return path;
}

function startChild(
  configPath: string,
  app: string,
  k: number,
): Promise<{ child: ChildProcess; url: string }> {
  const cli = process.argv[1] as string;
  const child = spawn(
    process.execPath,
    ["--no-node-snapshot", cli, "start", "--config", configPath, "--app", app],
    {
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  let out = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`node ${k} did not start within ${JOIN_WAIT_MS} ms`)),
      JOIN_WAIT_MS,
    );
    child.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /listening on (https:\/\/[\d.]+:\d+)/.exec(out);
      if (m !== null) {
        clearTimeout(timer);
        resolve({ child, url: m[1] as string });
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`node ${k} exited with ${code}`));
    });
  });
}

/** Starts nodes 1..count-1 joining node 0; resolves with their URLs and a function that stops them. */
export async function startSandboxJoiners(args: {
  workspace: string;
  count: number;
  port: number;
  node0: RunningNode;
  config0: NodeConfig;
  app: string;
}): Promise<{ urls: string[]; stop(): Promise<void> }> {
  const paths = Array.from({ length: args.count - 1 }, (_, i) =>
    joinerConfig(args.workspace, i + 1, args.port, args.node0, args.config0),
  );
  const children = await Promise.all(paths.map((p, i) => startChild(p, args.app, i + 1)));
  return {
    urls: children.map((c) => c.url),
    async stop() {
      await Promise.all(
        children.map(
          ({ child }) =>
            new Promise<void>((resolve) => {
              if (child.exitCode !== null) return resolve();
              child.once("exit", () => resolve());
              child.kill("SIGTERM");
            }),
        ),
      );
    },
  };
}
