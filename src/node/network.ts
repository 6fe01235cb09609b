/**
 * Wires a node into a multi-node service: its consensus state on disk, the `LedgerStorage` the core
 * reads, the `RaftReplicator`, the node-to-node `Channels`, and the configuration reconciler that
 * keeps the consensus configuration equal to the set of Trusted nodes in the node table (a change
 * is one reconfiguration transaction, proposed by the primary only).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import type { NodeId } from "../consensus/index.ts";
import { privateKeyToPem } from "../crypto/keys.ts";
import type { Ledger } from "../ledger/ledger.ts";
import { nodeInfo } from "../tables/identities.ts";
import { assert } from "../util/assert.ts";
import { Channels, type PeerAddress } from "./channels/channels.ts";
import type { NodeConfig } from "./config.ts";
import type { Engine } from "./engine.ts";
import type { Identity } from "./identity.ts";
import type { Logger } from "./logger.ts";
import { RaftReplicator } from "./raft-replicator.ts";
import {
  CONFIGURATION_KEY,
  configurationTable,
  LedgerStorage,
  type PersistedState,
  readPersistedState,
  writePersistedState,
} from "./raft-storage.ts";
import type { ViewHistory } from "./view-history.ts";

/** Addresses learnt at join time, before this node's store holds the node table. */
const PEERS_FILE = "peers.json";
const RECONCILE_MS = 200;

export type NodeAddresses = Record<NodeId, { rpc_address: string; node_to_node_address: string }>;

/**
 * A port the system chose, held by a bound socket until the server that will use it listens: a
 * port chosen and released at once could be taken by another process (a listener, or a client's
 * ephemeral port) during the seconds a node takes to join and replay. Unreferenced, so it never
 * keeps a failing start-up alive.
 */
export type HeldPort = { port: number; release(): Promise<void> };

function holdFreePort(host: string): Promise<HeldPort> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, host, () => {
      server.unref();
      const a = server.address();
      if (a === null || typeof a !== "object") return reject(new Error("no port"));
      let released: Promise<void> | null = null;
      const release = () => {
        released ??= new Promise<void>((done) => server.close(() => done()));
        return released;
      };
      resolve({ port: a.port, release });
    });
  });
}

/** Ports `pinAddresses` chose and holds; release each just before its server listens. */
export type PortHolds = { rpc: HeldPort | null; nodeToNode: HeldPort | null };

/**
 * Other nodes and clients find a node by the addresses in the node table, so they must survive a
 * restart: a port configured as 0 is chosen once and kept in `<dataDir>/addresses.json`. A port
 * chosen now stays bound (held) until released.
 */
export async function pinAddresses(config: NodeConfig): Promise<PortHolds> {
  assert(config.nodeToNode !== null, "a network node has a node-to-node address");
  mkdirSync(config.dataDir, { recursive: true });
  const path = join(config.dataDir, "addresses.json");
  const saved = existsSync(path)
    ? (JSON.parse(readFileSync(path, "utf8")) as { rpc: number; nodeToNode: number })
    : null;
  const holds: PortHolds = { rpc: null, nodeToNode: null };
  if (config.rpc.port === 0) {
    if (saved !== null) config.rpc.port = saved.rpc;
    else {
      holds.rpc = await holdFreePort(config.rpc.host);
      config.rpc.port = holds.rpc.port;
    }
  }
  if (config.nodeToNode.port === 0) {
    if (saved !== null) config.nodeToNode.port = saved.nodeToNode;
    else {
      holds.nodeToNode = await holdFreePort(config.nodeToNode.host);
      config.nodeToNode.port = holds.nodeToNode.port;
    }
  }
  writeFileSync(path, JSON.stringify({ rpc: config.rpc.port, nodeToNode: config.nodeToNode.port }));
  return holds;
}

export function raftDir(config: NodeConfig): string {
  return join(config.dataDir, "raft");
}

/** The consensus state of this node: persisted, or a new service whose only voter is this node. */
export function consensusState(config: NodeConfig, identity: Identity, isNew: boolean): PersistedState {
  const dir = raftDir(config);
  const state = readPersistedState(dir);
  if (state !== null) return state;
  assert(isNew, "an existing node has its consensus state");
  const fresh: PersistedState = { term: 0, vote: null, commit: 0, initialConfiguration: [identity.nodeId] };
  writePersistedState(dir, fresh, true);
  return fresh;
}

export function writeJoinPeers(config: NodeConfig, peers: NodeAddresses): void {
  writeFileSync(join(raftDir(config), PEERS_FILE), JSON.stringify(peers));
}

function readJoinPeers(config: NodeConfig): NodeAddresses {
  try {
    return JSON.parse(readFileSync(join(raftDir(config), PEERS_FILE), "utf8")) as NodeAddresses;
  } catch {
    return {};
  }
}

function parseAddress(text: string | undefined): PeerAddress | null {
  const m = text === undefined ? null : /^(.+):(\d+)$/.exec(text);
  return m === null ? null : { host: m[1] as string, port: Number(m[2]) };
}

export class Network {
  readonly replicator: RaftReplicator;
  readonly storage: LedgerStorage;
  readonly channels: Channels;
  private readonly log: Logger;
  private readonly peers: NodeAddresses;
  private engine: Engine | null = null;
  private reconciler: NodeJS.Timeout | null = null;
  private reconciling = false;
  /** The node-to-node address this node listens on, `host:port` (known after `listen`). */
  address = "";

  constructor(args: {
    config: NodeConfig;
    identity: Identity;
    ledger: Ledger;
    views: ViewHistory;
    state: PersistedState;
    log: Logger;
    onFailure(error: unknown): void;
    /** Voters at the snapshot the ledger starts after, when it does not start at seqno 1. */
    baseConfiguration?: readonly NodeId[];
  }) {
    const { config, identity, log } = args;
    assert(config.nodeToNode !== null, "a network node has a node-to-node address");
    this.log = log;
    this.peers = readJoinPeers(config);
    this.storage = new LedgerStorage({
      ledger: args.ledger,
      views: args.views,
      dir: raftDir(config),
      state: args.state,
      ...(args.baseConfiguration === undefined ? {} : { baseConfiguration: args.baseConfiguration }),
    });
    const c = config.consensus;
    this.replicator = new RaftReplicator({
      storage: this.storage,
      raft: {
        id: identity.nodeId,
        electionTimeoutTicks: c.electionTimeoutTicks,
        heartbeatIntervalTicks: c.heartbeatIntervalTicks,
        // Above what the engine appends (it refuses transactions at uncommittedTxsMax; signatures and
        // internal entries add a few), below what the store retains (versionsRetainedMax, node.ts).
        uncommittedEntriesMax: config.uncommittedTxsMax + config.signatures.intervalTxs + 16,
      },
      tickMs: c.tickMs,
      inboxMessagesMax: c.inboxMessagesMax,
      holdBytesMax: config.ledger.holdBytesMax,
      send: (m) => this.channels.send(m),
      log,
      onFailure: args.onFailure,
    });
    this.channels = new Channels({
      self: identity.nodeId,
      keyPem: privateKeyToPem(identity.node.privateKey),
      certPem: identity.nodeCert,
      serviceCertPem: identity.serviceCert,
      listen: config.nodeToNode,
      addressOf: (id) => parseAddress(this.addresses(id)?.node_to_node_address),
      isPeerAllowed: (id) => this.isPeer(id),
      onMessage: (m) => this.replicator.receive(m),
      ...config.channels,
      log,
    });
  }

  /** Where node `id` is reached: the node table, else the addresses learnt when joining. */
  addresses(id: NodeId): { rpc_address: string; node_to_node_address: string } | null {
    const info = this.engine === null ? undefined : nodeInfo.in(this.engine.store.beginTx()).get(id);
    if (info?.node_to_node_address !== undefined) {
      return { rpc_address: info.rpc_address, node_to_node_address: info.node_to_node_address };
    }
    return this.peers[id] ?? null;
  }

  private isPeer(id: NodeId): boolean {
    if (this.peers[id] !== undefined) return true;
    if (this.replicator.status().configurations.some((c) => c.includes(id))) return true;
    const info = this.engine === null ? undefined : nodeInfo.in(this.engine.store.beginTx()).get(id);
    return info !== undefined && info.status !== "Retired";
  }

  /** Listens for other nodes; call before `attach` so the address can go into the node table. */
  async listen(): Promise<string> {
    const a = await this.channels.listen();
    this.address = `${a.host}:${a.port}`;
    return this.address;
  }

  attach(engine: Engine): void {
    this.engine = engine;
    this.replicator.attach(engine);
    this.reconciler = setInterval(() => this.reconcile(), RECONCILE_MS);
    this.reconciler.unref();
  }

  /** Resolves once this node is primary (a new service's first node), or rejects after `timeoutMs`. */
  async becomePrimary(timeoutMs: number): Promise<void> {
    this.replicator.campaign();
    const end = Date.now() + timeoutMs;
    while (!this.replicator.isPrimary()) {
      if (Date.now() > end) throw new Error(`not primary after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /**
   * Primary only: when the Trusted nodes in the node table differ from the newest configuration
   * and no reconfiguration is pending, proposes one transaction that sets the voters.
   */
  private reconcile(): void {
    const engine = this.engine;
    if (engine === null) return;
    this.announce(engine);
    if (this.reconciling || !engine.isPrimary) return;
    const status = this.replicator.status();
    if (status.configurations.length !== 1) return;
    // The store already holds an appended but not yet proposed reconfiguration: never propose twice.
    const stored = configurationTable.in(engine.store.beginTx()).get(CONFIGURATION_KEY);
    const current = [...(stored ?? status.configurations[0] ?? [])].sort();
    const desired: NodeId[] = [];
    // A Trusted node becomes a voter once it runs and reaches us; before that it would only stall
    // the joint quorum (and CheckQuorum) of the reconfiguration that adds it.
    const self = engine.identity.nodeId;
    nodeInfo.in(engine.store.beginTx()).forEach((id, info) => {
      const ready = id === self || current.includes(id) || this.channels.isConnectedFrom(id);
      if (info.status === "Trusted" && ready) desired.push(id);
    });
    desired.sort();
    if (desired.length === 0 || desired.join() === current.join()) return;
    this.reconciling = true;
    this.log.info("reconfiguration", { from: current, to: desired });
    const removesSelf = !desired.includes(engine.identity.nodeId);
    engine
      .execute((tx) => configurationTable.in(tx).put(CONFIGURATION_KEY, desired), { reservedWrites: true })
      .then(() => {
        if (!removesSelf || !engine.isPrimary) return;
        engine.appendSignature();
        this.replicator.retire();
        this.log.info("retiring: stopped writing until the reconfiguration commits and leadership moves");
      })
      .catch((error: unknown) => this.log.warn("reconfiguration not proposed", { error: String(error) }))
      .finally(() => {
        this.reconciling = false;
      });
  }

  /** A node not yet in the configuration keeps connections open to the nodes it learnt at join. */
  private announce(engine: Engine): void {
    const status = this.replicator.status();
    if (status.configurations.some((c) => c.includes(engine.identity.nodeId))) return;
    for (const id of Object.keys(this.peers)) this.channels.connectTo(id);
  }

  async close(): Promise<void> {
    if (this.reconciler) clearInterval(this.reconciler);
    await this.channels.close();
  }
}
