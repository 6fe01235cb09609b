/** Subcommands that run a node: `start` from a configuration file, and `sandbox`. */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, isAbsolute, join, relative, resolve } from "node:path";
import { certificateId } from "../crypto/x509.ts";
import { type NodeConfig, validateConfig } from "../node/config.ts";
import { tuneHeapForNode } from "../node/heap-tuning.ts";
import { networkNodes } from "../node/network-view.ts";
import { type RunningNode, startNode } from "../node/node.ts";
import { loadApp } from "./apps.ts";
import { openServiceByVote } from "./gov.ts";
import { ensureIdentityFiles, type IdentityFiles } from "./identity-files.ts";
import { UsageError } from "./main.ts";
import { sandboxNode0Config, startSandboxJoiners } from "./sandbox-network.ts";

type Values = {
  workspace?: string;
  port?: string;
  app?: string;
  config?: string;
  nodes?: string;
  target?: string;
  "service-cert"?: string;
};

/** Reads a JSON config; relative paths (dataDir, certificate files) are relative to the file. */
export function loadConfigFile(path: string): NodeConfig {
  const base = dirname(resolve(path));
  const raw = JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown> & {
    dataDir?: string;
    genesis?: { members?: Array<{ cert: string }>; users?: Array<{ cert: string }> };
  };
  if (typeof raw.dataDir === "string" && !isAbsolute(raw.dataDir)) raw.dataDir = join(base, raw.dataDir);
  const readCert = (c: { cert: string }) => ({
    ...c,
    cert: c.cert.startsWith("-----BEGIN") ? c.cert : readFileSync(resolve(base, c.cert), "utf8"),
  });
  const joinCert = (raw.join as { serviceCertificate?: unknown } | undefined)?.serviceCertificate;
  if (typeof joinCert === "string" && !isAbsolute(joinCert)) {
    (raw.join as { serviceCertificate: string }).serviceCertificate = resolve(base, joinCert);
  }
  if (raw.genesis?.members) raw.genesis.members = raw.genesis.members.map(readCert);
  if (raw.genesis?.users) raw.genesis.users = raw.genesis.users.map(readCert);
  return validateConfig(raw);
}

function stopOnSignals(node: RunningNode, onStopped: () => void): void {
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.error(`coterie: ${signal} received, stopping (flushing the ledger)`);
    node.close().then(onStopped, (e: unknown) => {
      console.error(e);
      process.exit(1);
    });
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
}

export async function runStart(values: Values): Promise<number> {
  if (!values.config) throw new UsageError("start needs --config FILE");
  const config = loadConfigFile(values.config);
  tuneHeapForNode();
  const node = await startNode(config, await loadApp(values.app ?? "logging"));
  console.log(`coterie: listening on ${node.url}`);
  stopOnSignals(node, () => process.exit(0));
  return -1; // keep running
}

/** `coterie node join --target URL --config FILE [--service-cert PEM]`: a node that joins a service. */
export async function runNodeJoin(values: Values): Promise<number> {
  if (!values.config || !values.target)
    throw new UsageError("node join needs --target URL and --config FILE");
  const config = loadConfigFile(values.config);
  config.nodeToNode ??= { host: config.rpc.host, port: 0 };
  const cert =
    values["service-cert"] === undefined
      ? (config.join?.serviceCertificate ?? null)
      : resolve(values["service-cert"]);
  config.join = {
    target: values.target.replace(/\/+$/, ""),
    serviceCertificate: cert,
    pollMs: config.join?.pollMs ?? 500,
  };
  validateConfig(config);
  tuneHeapForNode();
  const node = await startNode(config, await loadApp(values.app ?? "logging"));
  console.log(`coterie: listening on ${node.url}`);
  stopOnSignals(node, () => process.exit(0));
  return -1;
}

export async function runSandbox(values: Values): Promise<number> {
  const workspace = resolve(values.workspace ?? "workspace/sandbox");
  mkdirSync(workspace, { recursive: true });
  const member = await ensureIdentityFiles(workspace, "member0");
  const user = await ensureIdentityFiles(workspace, "user0");
  const port = values.port === undefined ? 8000 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError("--port must be 0..65535");
  const nodes = values.nodes === undefined ? 1 : Number(values.nodes);
  if (!Number.isInteger(nodes) || nodes < 1 || nodes > 9) throw new UsageError("--nodes must be 1..9");
  const configPath = join(workspace, "node0.config.json");
  if (!existsSync(configPath)) {
    writeFileSync(configPath, `${JSON.stringify(sandboxNode0Config(port, nodes), null, 2)}\n`);
  }
  const config = loadConfigFile(configPath);
  if (values.port !== undefined) config.rpc.port = port;
  if (nodes > 1 && config.nodeToNode === null) {
    throw new UsageError(`${configPath} is a one-node sandbox; use another --workspace for --nodes ${nodes}`);
  }
  const app = values.app ?? "logging";
  tuneHeapForNode();
  const first = await startNode(config, await loadApp(app));
  const joiners =
    nodes > 1
      ? await startSandboxJoiners({ workspace, count: nodes, port, node0: first, config0: config, app })
      : null;
  if (joiners !== null) {
    await waitForVoters(first, nodes);
    for (const [k, url] of joiners.urls.entries())
      console.log(`coterie: node ${k + 1} joined, listening on ${url}`);
  }
  const node: RunningNode =
    joiners === null ? first : { ...first, close: () => joiners.stop().then(() => first.close()) };
  const serviceCertPath = join(workspace, "node0", "service_cert.pem");
  const opened = await openServiceByVote({
    url: node.url,
    "service-cert": serviceCertPath,
    cert: member.certPath,
    key: member.keyPath,
  });
  writeGovernanceExamples(workspace, user.certPath);
  if (opened !== null)
    console.log(`coterie: member0 acknowledged and opened the service by proposal ${opened}`);
  printHowTo(node, workspace, user.certPath, user.keyPath, member);
  stopOnSignals(node, () => process.exit(0));
  return -1;
}

/** A proposal and a ballot to try `coterie gov` with (the how-to names them). */
function writeGovernanceExamples(workspace: string, userCertPath: string): void {
  const userId = certificateId(readFileSync(userCertPath, "utf8"));
  const proposal = {
    actions: [{ name: "set_user_data", args: { user_id: userId, user_data: { note: "set by a vote" } } }],
  };
  writeFileSync(join(workspace, "proposal-example.json"), `${JSON.stringify(proposal, null, 2)}\n`);
  writeFileSync(
    join(workspace, "ballot-yes.js"),
    "export function vote(proposal, proposerId) {\n  return true;\n}\n",
  );
}

function printHowTo(
  node: RunningNode,
  workspace: string,
  userCert: string,
  userKey: string,
  member: IdentityFiles,
): void {
  const rel = (p: string) => relative(process.cwd(), p) || ".";
  const serviceCert = rel(join(workspace, "node0", "service_cert.pem"));
  const gov = `node src/cli/main.ts gov --url ${node.url} --service-cert ${serviceCert} --cert ${rel(member.certPath)} --key ${rel(member.keyPath)}`;
  const curl = `curl --cacert ${serviceCert} --cert ${rel(userCert)} --key ${rel(userKey)}`;
  console.log(`
coterie: sandbox listening on ${node.url}
  workspace:            ${rel(workspace)}
  service certificate:  ${serviceCert}   (clients pin this)
  user identity:        ${rel(userCert)} / ${rel(userKey)}
  member identity:      ${rel(member.certPath)} / ${rel(member.keyPath)}

Try it:
  ${curl} -H 'content-type: application/json' -d '{"id": 1, "msg": "hello"}' '${node.url}/app/log/private?wait_for_commit=true'
  ${curl} '${node.url}/app/log/private?id=1'
  ${curl} '${node.url}/app/tx?transaction_id=<from the first response>'
  ${curl} '${node.url}/app/receipt?transaction_id=<id>' > receipt.json
  node src/cli/main.ts receipt verify receipt.json --service-cert ${serviceCert}
  node src/cli/main.ts ledger verify ${rel(join(workspace, "node0", "ledger"))} --service-cert ${serviceCert}

Govern it (docs/governance.md): member0 proposes, every member votes with a ballot file.
  GOV="${gov}"
  $GOV propose ${rel(join(workspace, "proposal-example.json"))}
  $GOV vote <proposal id> ${rel(join(workspace, "ballot-yes.js"))}
  $GOV list
  node src/cli/main.ts gov audit ${rel(join(workspace, "node0", "ledger"))} --service-cert ${serviceCert}

Ctrl-C stops the node cleanly; run the same command again to restart it from its ledger.
coterie: listening on ${node.url}`);
}

/** Waits until `count` nodes are voters of the newest configuration (the joiners caught up and were added). */
async function waitForVoters(node: RunningNode, count: number): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (networkNodes(node.engine).filter((n) => n.voter).length >= count) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the network did not reach ${count} voters within 60 s`);
}
