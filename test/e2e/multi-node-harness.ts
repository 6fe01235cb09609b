// Multi-node networks of real `coterie start` processes on loopback: node 0 starts the service
// (not yet open), the others join it (trusted at once before opening), member0 opens the service by
// vote, and the tests drive writes, kill (SIGKILL), pause (SIGSTOP) and restart nodes.
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type GovMessageType, pemSigner, signGovRequest } from "../../src/governance/index.ts";
import { type Client, client, makeWorkspace, type NodeProcess, root, type Workspace } from "./harness.ts";

const cli = join(root, "src/cli/main.ts");

export type NetNode = NodeProcess & { index: number; configPath: string; dataDir: string; out: () => string };

export type Net = { ws: Workspace; nodes: NetNode[]; serviceCertPath: string };

/** Timing used by the tests: 25 ms ticks, election timeout 20 ticks (0.5-1 s, randomized in 25 ms steps). */
export const consensusTiming = { tickMs: 25, electionTimeoutTicks: 20, heartbeatIntervalTicks: 2 };
export const electionTimeoutMs = consensusTiming.tickMs * consensusTiming.electionTimeoutTicks;

function configOf(ws: Workspace, index: number, extra: Record<string, unknown>): string {
  const path = join(ws.dir, `node${index}.config.json`);
  const base = JSON.parse(readFileSync(ws.configPath, "utf8")) as Record<string, unknown>;
  const config: Record<string, unknown> = {
    ...base,
    dataDir: `node${index}`,
    rpc: { host: "127.0.0.1", port: 0 },
    nodeToNode: { host: "127.0.0.1", port: 0 },
    ...extra,
  };
  writeFileSync(path, JSON.stringify(config, null, 2));
  return path;
}

/** Spawns `coterie start` and resolves once it prints its address. */
export function spawnNode(
  ws: Workspace,
  index: number,
  configPath: string,
  timeoutMs = 30_000,
  env: Record<string, string> = {},
): Promise<NetNode> {
  const child: ChildProcess = spawn(
    process.execPath,
    ["--no-node-snapshot", cli, "start", "--config", configPath, "--app", "logging"],
    { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } },
  );
  let out = "";
  let err = "";
  child.stderr?.on("data", (d: Buffer) => {
    err += d.toString();
  });
  const dataDir = join(ws.dir, `node${index}`);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`node ${index} did not start within ${timeoutMs} ms:\n${out}\n${err}`));
    }, timeoutMs);
    child.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /listening on (https:\/\/[\d.]+:\d+)/.exec(out);
      if (m && timer.hasRef()) {
        clearTimeout(timer);
        timer.unref();
        const serviceCert = readFileSync(join(dataDir, "service_cert.pem"), "utf8");
        resolve({
          child,
          url: m[1] as string,
          serviceCert,
          stderr: () => err,
          out: () => out,
          index,
          configPath,
          dataDir,
        });
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`node ${index} exited with ${code} before listening:\n${out}\n${err}`));
    });
  });
}

/**
 * Starts node 0, joins `count - 1` nodes to it, opens the service, and waits until all are voters.
 * `extra` goes into every node's configuration, `joinerExtra` into the joiners' only.
 */
export async function startNetwork(
  count: number,
  extra: Record<string, unknown> = {},
  joinerExtra: Record<string, unknown> = {},
): Promise<Net> {
  const ws = await makeWorkspace({
    nodeToNode: { host: "127.0.0.1", port: 0 },
    consensus: consensusTiming,
    genesis: { members: [{ cert: "member0_cert.pem" }], users: [{ cert: "user0_cert.pem" }], open: false },
    log: { level: process.env.COTERIE_E2E_LOG ?? "warn" },
    ...extra,
  });
  const first = await spawnNode(ws, 0, configOf(ws, 0, {}));
  const serviceCertPath = join(first.dataDir, "service_cert.pem");
  // Every node started is stopped if the network does not come up: a child left running would
  // keep the test file from ending (its `after` never sees a network to stop).
  const started: NetNode[] = [first];
  try {
    const joining = await Promise.allSettled(
      Array.from({ length: count - 1 }, (_, k) =>
        spawnNode(
          ws,
          k + 1,
          configOf(ws, k + 1, {
            join: { target: first.url, serviceCertificate: serviceCertPath, pollMs: 100 },
            ...joinerExtra,
          }),
        ),
      ),
    );
    for (const j of joining) if (j.status === "fulfilled") started.push(j.value);
    const failed = joining.find((j) => j.status === "rejected");
    if (failed !== undefined)
      throw new Error(`${String(failed.reason)}\nnode 0 said:\n${first.stderr().slice(-4000)}`);
    const net: Net = { ws, nodes: started, serviceCertPath };
    await waitFor(async () => (await voters(first)) === count, 20_000, "all nodes are voters");
    await openService(first, ws);
    return net;
  } catch (error) {
    for (const n of started) if (isAlive(n)) n.child.kill("SIGKILL");
    throw error;
  }
}

/** member0 acknowledges the state digest, proposes transition_service_to_open and votes for it. */
export async function openService(node: NodeProcess, ws: Workspace): Promise<void> {
  const c = client(node, ws.member);
  const signer = pemSigner(readFileSync(ws.member.certPath, "utf8"), readFileSync(ws.member.keyPath, "utf8"));
  const send = async (path: string, type: GovMessageType, payload: string, proposalId?: string) => {
    const body = await signGovRequest({ signer, type, payload, ...(proposalId ? { proposalId } : {}) });
    const reply = await c.raw("POST", path, Buffer.from(body), { "content-type": "application/cose" });
    if (reply.status !== 200) throw new Error(`${path}: ${reply.status} ${reply.body}`);
    return reply.json();
  };
  try {
    // The digest moves while the network still writes (reconfiguration, signatures): retry the ack.
    for (let attempt = 1; ; attempt++) {
      const digest = (await c.get("/gov/v1/members/state-digest")).json().state_digest as string;
      try {
        await send("/gov/v1/members/ack", "ack", JSON.stringify({ state_digest: digest }));
        break;
      } catch (error) {
        if (attempt >= 20 || !String(error).includes("409")) throw error;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    const proposal = JSON.stringify({ actions: [{ name: "transition_service_to_open" }] });
    const id = (await send("/gov/v1/proposals", "proposal", proposal)).proposal_id as string;
    const ballot = "export function vote(proposal, proposerId) { return true; }\n";
    const voted = await send(`/gov/v1/proposals/${id}/ballots`, "ballot", ballot, id);
    if (voted.state !== "Accepted") throw new Error(`opening proposal is ${voted.state}`);
  } finally {
    c.close();
  }
}

export async function voters(node: NodeProcess): Promise<number> {
  const c = client(node, null);
  try {
    const nodes = (await c.get("/node/network")).json().nodes as Array<{ voter: boolean }>;
    return nodes.filter((n) => n.voter).length;
  } finally {
    c.close();
  }
}

export async function waitFor(
  cond: () => Promise<boolean> | boolean,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await cond()) return;
    } catch {
      // not yet reachable
    }
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export type NodeState = {
  node_id: string;
  role: string;
  primary_id: string | null;
  view: number;
  last_seqno: number;
  committed_transaction_id: string;
};

/** A paused (SIGSTOP) node never answers: give up after `timeoutMs`. */
export async function withTimeout<T>(p: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export async function stateOf(node: NodeProcess, timeoutMs = 1000): Promise<NodeState> {
  const c = client(node, null);
  try {
    return (await withTimeout(c.get("/node/state"), timeoutMs, "GET /node/state")).json() as NodeState;
  } finally {
    c.close();
  }
}

/** The live node that reports itself primary (asked directly, not through redirects). */
export async function findPrimary(nodes: NetNode[]): Promise<NetNode | null> {
  for (const n of nodes) {
    if (n.child.exitCode !== null || n.child.signalCode !== null) continue;
    try {
      if ((await stateOf(n)).role === "Primary") return n;
    } catch {
      // down or paused
    }
  }
  return null;
}

export const isAlive = (n: NetNode) => n.child.exitCode === null && n.child.signalCode === null;

export function userClient(node: NodeProcess, ws: Workspace): Client {
  return client(node, ws.user);
}

/** member0 proposes `actions` on `node` (the primary) and votes yes; resolves with the proposal state. */
export async function proposeAndAccept(
  node: NodeProcess,
  ws: Workspace,
  actions: unknown[],
): Promise<string> {
  const c = client(node, ws.member);
  const signer = pemSigner(readFileSync(ws.member.certPath, "utf8"), readFileSync(ws.member.keyPath, "utf8"));
  const send = async (path: string, type: GovMessageType, payload: string, proposalId?: string) => {
    const body = await signGovRequest({ signer, type, payload, ...(proposalId ? { proposalId } : {}) });
    const reply = await c.raw("POST", path, Buffer.from(body), { "content-type": "application/cose" });
    if (reply.status !== 200) throw new Error(`${path}: ${reply.status} ${reply.body}`);
    return reply.json();
  };
  try {
    const id = (await send("/gov/v1/proposals", "proposal", JSON.stringify({ actions })))
      .proposal_id as string;
    const ballot = "export function vote(proposal, proposerId) { return true; }\n";
    return (await send(`/gov/v1/proposals/${id}/ballots`, "ballot", ballot, id)).state as string;
  } finally {
    c.close();
  }
}

export type NetworkView = {
  primary_id: string | null;
  nodes: Array<{ node_id: string; status: string; primary: boolean; voter: boolean }>;
};

export async function networkOf(node: NodeProcess): Promise<NetworkView> {
  const c = client(node, null);
  try {
    return (await withTimeout(c.get("/node/network"), 1000, "GET /node/network")).json() as NetworkView;
  } finally {
    c.close();
  }
}

/** Writes the configuration of node `index` joining through `target` (not started). */
export function joinerConfig(net: Net, index: number, target: string): string {
  return configOf(net.ws, index, { join: { target, serviceCertificate: net.serviceCertPath, pollMs: 100 } });
}
