// The systems under measurement, each started by the suite on loopback and stopped after its
// workloads: the bare mTLS ceiling, a three-member etcd, and Coterie itself. A target that cannot
// start returns a reason instead, and the suite reports it and goes on with the others.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { sandboxNode0Config } from "../src/cli/sandbox-network.ts";
import type { CertFiles } from "./certs.ts";
import { deployAppByVote } from "./governed-app.ts";
import { type Child, type ProcessGroup, sleep } from "./procs.ts";

export type TlsFiles = { caFile: string; certFile: string; keyFile: string };

export type Target = {
  name: string;
  /** Base URLs the generator spreads its connections over. */
  urls: string[];
  tls?: TlsFiles;
  /** One line for the report: transport, durability, topology. */
  note: string;
  children: Child[];
  /** Coterie targets: the sandbox workspace (node0/ holds the first node's ledger). */
  workspace?: string;
  /** Multi-node Coterie targets: every node's client URL, to find the primary before each point. */
  nodeUrls?: string[];
};

export type TargetContext = { group: ProcessGroup; repoRoot: string; tmpDir: string; certs: CertFiles };

export type TargetSpec = {
  name: string;
  ports: number[];
  start: (ctx: TargetContext) => Promise<Target>;
};

const READY_TIMEOUT_MS = 60_000;

export function ceilingTarget(port: number): TargetSpec {
  return {
    name: "ceiling",
    ports: [port],
    async start(ctx) {
      const c = ctx.certs;
      const args = ["bench/baseline-https.ts", String(port), c.caFile, c.serverCertFile, c.serverKeyFile];
      const child = ctx.group.spawn("baseline-https", process.execPath, args);
      await ctx.group.waitForLine(child, /listening on https:/, READY_TIMEOUT_MS);
      return {
        name: "ceiling",
        urls: [`https://127.0.0.1:${port}`],
        tls: { caFile: c.caFile, certFile: c.certFile, keyFile: c.keyFile },
        note: "bare node:https, 1 process, TLS 1.3, client certificate required, fixed 25-byte body",
        children: [child],
      };
    },
  };
}

/**
 * The replicated floor (bench/replicated-floor.ts) with `members` members: `members - 1` backups on
 * the ports after `port`, then the primary on `port`, each with its own log under the run's
 * temporary directory; the ceiling's certificates (the primary dials the backups with the client's).
 */
export function floorTarget(members: number, port: number): TargetSpec {
  const name = `floor-${members}`;
  const backupPorts = Array.from({ length: members - 1 }, (_, k) => port + 1 + k);
  return {
    name,
    ports: [port, ...backupPorts],
    async start(ctx) {
      const c = ctx.certs;
      const script = join(ctx.repoRoot, "bench/replicated-floor.ts");
      const dir = (role: string) => {
        const d = join(ctx.tmpDir, name, role);
        mkdirSync(d, { recursive: true });
        return d;
      };
      const children: Child[] = [];
      for (const [k, p] of backupPorts.entries()) {
        const args = [
          script,
          "backup",
          String(p),
          c.caFile,
          c.serverCertFile,
          c.serverKeyFile,
          dir(`backup${k + 1}`),
        ];
        const child = ctx.group.spawn(`${name}-backup${k + 1}`, process.execPath, args);
        children.push(child);
        await ctx.group.waitForLine(child, /listening on tls:/, READY_TIMEOUT_MS);
      }
      const args = [
        script,
        "primary",
        String(port),
        c.caFile,
        c.serverCertFile,
        c.serverKeyFile,
        c.certFile,
        c.keyFile,
        dir("primary"),
        ...backupPorts.map(String),
      ];
      const primary = ctx.group.spawn(`${name}-primary`, process.execPath, args);
      children.push(primary);
      await ctx.group.waitForLine(primary, /listening on https:/, READY_TIMEOUT_MS);
      return {
        name,
        urls: [`https://127.0.0.1:${port}`],
        tls: { caFile: c.caFile, certFile: c.certFile, keyFile: c.keyFile },
        note:
          members === 1
            ? "replicated floor, 1 member: bare node:https (mTLS, responses written once per turn), each turn's bodies appended to an O_DSYNC log, answered once durable"
            : `replicated floor, ${members} processes: the primary as floor-1, each turn's bodies also sent as one frame over mTLS to ${members - 1} backups that append them to their own O_DSYNC logs and acknowledge; answered once durable on a majority`,
        children,
      };
    },
  };
}

export type CoterieOptions = {
  /** `sandbox --nodes N`; node k serves clients on port + k. */
  nodes?: number;
  /** An app directory (from the repository root) to deploy as a governed bundle once started. */
  governedApp?: string;
  /**
   * Node configuration fields (src/node/config.ts) for node 0, e.g. `nodeKey` or `signatures`;
   * the sandbox's joiners copy node 0's `nodeKey`, `signatures` and `ledger`.
   */
  config?: Record<string, unknown>;
};

/** Coterie's `sandbox` command, one node or `nodes`; the generator talks to node 0, the primary. */
export function coterieTarget(name: string, port: number, options: CoterieOptions = {}): TargetSpec {
  const nodes = options.nodes ?? 1;
  const extraArgs = nodes > 1 ? ["--nodes", String(nodes)] : [];
  return {
    name,
    ports: Array.from({ length: nodes }, (_, k) => port + k),
    async start(ctx) {
      const cli = join(ctx.repoRoot, "src/cli/main.ts");
      if (!existsSync(cli)) throw new Error("src/cli/main.ts does not exist yet");
      const workspace = join(ctx.tmpDir, name);
      mkdirSync(workspace, { recursive: true });
      if (options.config !== undefined) writeNode0Config(workspace, port, nodes, options.config);
      const args = [cli, "sandbox", "--workspace", workspace, "--port", String(port), ...extraArgs];
      const child = ctx.group.spawn(name, process.execPath, args);
      const escaped = `listening on https://127\\.0\\.0\\.1:${port}`;
      await ctx.group.waitForLine(child, new RegExp(escaped), READY_TIMEOUT_MS).catch((err: Error) => {
        throw new Error(`${err.message}; last output: ${child.tail.slice(-5).join(" | ")}`);
      });
      const url = `https://127.0.0.1:${port}`;
      const caFile = serviceCertOf(workspace);
      let note = `coterie sandbox ${extraArgs.join(" ") || "(1 node)"}, virtual platform, TLS 1.3 + client certificate`;
      if (options.config !== undefined) note += `; node config ${JSON.stringify(options.config)}`;
      if (options.governedApp !== undefined) {
        const member = {
          certFile: join(workspace, "member0_cert.pem"),
          keyFile: join(workspace, "member0_privk.pem"),
        };
        const deployed = await deployAppByVote(ctx, {
          child,
          url,
          caFile,
          member,
          appDir: join(ctx.repoRoot, options.governedApp),
          ballotFile: join(workspace, "ballot-yes.js"),
        });
        note += `; ${options.governedApp} deployed as a governed bundle (set_app ${deployed.proposalId.slice(0, 12)}…, accepted by member0's vote, served from seqno ${deployed.seqno})`;
      }
      return {
        name,
        urls: [url],
        tls: {
          caFile,
          certFile: join(workspace, "user0_cert.pem"),
          keyFile: join(workspace, "user0_privk.pem"),
        },
        note,
        children: [child],
        workspace,
        ...(nodes > 1
          ? { nodeUrls: Array.from({ length: nodes }, (_, k) => `https://127.0.0.1:${port + k}`) }
          : {}),
      };
    },
  };
}

/** The sandbox's own `node0.config.json` plus `fields`; the sandbox uses a config it finds in its workspace. */
function writeNode0Config(workspace: string, port: number, nodes: number, fields: Record<string, unknown>) {
  const config = { ...sandboxNode0Config(port, nodes), ...fields };
  writeFileSync(join(workspace, "node0.config.json"), `${JSON.stringify(config, null, 2)}\n`);
}

/** The sandbox writes the service certificate at the workspace top or under node0/. */
function serviceCertOf(workspace: string): string {
  const candidates = [join(workspace, "service_cert.pem"), join(workspace, "node0", "service_cert.pem")];
  const found = candidates.find((p) => existsSync(p));
  if (found === undefined) throw new Error(`no service_cert.pem in ${workspace} or ${workspace}/node0`);
  return found;
}

/** Makes sure an `etcd` binary exists: installs Debian's package when root, else explains. */
export function ensureEtcd(): void {
  if (spawnSync("etcd", ["--version"]).status === 0) return;
  if (process.getuid?.() !== 0) {
    throw new Error(
      "etcd is not installed and the suite is not root (apt-get install etcd-server etcd-client)",
    );
  }
  process.stdout.write("etcd missing: installing Debian's etcd-server and etcd-client ...\n");
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  const update = spawnSync("apt-get", ["update", "-qq"], { stdio: "inherit", env });
  const install = spawnSync("apt-get", ["install", "-y", "-qq", "etcd-server", "etcd-client"], {
    stdio: "inherit",
    env,
  });
  if (update.status !== 0 || install.status !== 0 || spawnSync("etcd", ["--version"]).status !== 0) {
    throw new Error("installing etcd-server with apt-get failed");
  }
}

export function etcdTarget(clientPorts: readonly number[], peerPorts: readonly number[]): TargetSpec {
  return {
    name: "etcd",
    ports: [...clientPorts, ...peerPorts],
    async start(ctx) {
      ensureEtcd();
      const members = clientPorts.map((_, i) => `m${i}`);
      const cluster = members.map((m, i) => `${m}=http://127.0.0.1:${peerPorts[i]}`).join(",");
      const children = members.map((m, i) => {
        const client = `http://127.0.0.1:${clientPorts[i]}`;
        const peer = `http://127.0.0.1:${peerPorts[i]}`;
        const args = [
          ...["--name", m, "--data-dir", join(ctx.tmpDir, `etcd-${m}`)],
          ...["--listen-client-urls", client, "--advertise-client-urls", client],
          ...["--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer],
          ...["--initial-cluster", cluster, "--initial-cluster-token", "coterie-bench"],
          ...["--initial-cluster-state", "new", "--logger", "zap", "--log-level", "error"],
        ];
        return ctx.group.spawn(`etcd-${m}`, "etcd", args);
      });
      const urls = clientPorts.map((p) => `http://127.0.0.1:${p}`);
      await waitHealthy(urls, children);
      return {
        name: "etcd",
        urls,
        note: `etcd ${etcdVersion()}, 3 members, fsync on (default), JSON gateway over plain HTTP, connections spread over all members`,
        children,
      };
    },
  };
}

function etcdVersion(): string {
  const out = spawnSync("etcd", ["--version"], { encoding: "utf8" }).stdout ?? "";
  return /etcd Version: (\S+)/.exec(out)?.[1] ?? "?";
}

async function waitHealthy(urls: readonly string[], children: readonly Child[]): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (const url of urls) {
    for (;;) {
      const exited = children.find((c) => c.process.exitCode !== null);
      if (exited !== undefined)
        throw new Error(`${exited.name} exited: ${exited.tail.slice(-3).join(" | ")}`);
      const healthy = await fetch(`${url}/health`)
        .then(async (r) => r.ok && (await r.text()).includes('"true"'))
        .catch(() => false);
      if (healthy) break;
      if (Date.now() > deadline) throw new Error(`etcd at ${url} not healthy within ${READY_TIMEOUT_MS} ms`);
      await sleep(200);
    }
  }
}
