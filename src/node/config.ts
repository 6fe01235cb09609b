/**
 * Node configuration: one JSON file (or object), validated once at start-up. `validateConfig`
 * fills defaults, rejects nonsense with a message naming the field, and asserts the relations
 * between limits. Every queue, body and wait has a `...Max`.
 */
import { isNodeKeyCurve, type NodeKeyCurve } from "../crypto/receipt.ts";
import { CoterieError } from "../util/errors.ts";
import { EVIDENCE_PREFETCH_TXS_DEFAULT } from "./evidence-prefetch.ts";
import { RECEIPT_CACHE_TXS_DEFAULT } from "./receipt-cache.ts";

export type IdentitySpec = { cert: string; data?: unknown; encryption_public_key?: string };

export type NodeConfig = {
  /** Directory holding `ledger/`, `sealed/` and the service certificate this node publishes. */
  dataDir: string;
  /** Client-facing HTTPS address. Port 0 picks a free port (printed and written to `dataDir/rpc_address`). */
  rpc: { host: string; port: number };
  /** Names put in the node certificate besides `localhost` and 127.0.0.1. */
  subjectAltNames: string[];
  platform: "virtual";
  /** Used only when the data directory holds no ledger yet (a new service). */
  genesis: { members: IdentitySpec[]; users: IdentitySpec[]; open: boolean };
  /**
   * The primary signs the Merkle root every `intervalTxs` transactions, and a transaction waits at
   * most `intervalMs` for a signature to start. In between it signs adaptively: as soon as the last
   * signature has committed, but no sooner than `minIntervalMs` after the last one started.
   * `minIntervalMs` null (the default): the fixed interval alone. Adaptive signing pays with P-256
   * keys (docs/operations.md, "Signatures").
   */
  signatures: { intervalTxs: number; intervalMs: number; minIntervalMs: number | null };
  /**
   * A snapshot every `intervalTxs` committed transactions (0: only on `trigger_snapshot`), in
   * `dataDir/snapshots`. A joiner accepts a snapshot file of at most `fetchBytesMax` bytes. A node
   * sends at most `servesMax` snapshot files at once (more are answered 503 with `retry-after`);
   * these transfers are not counted in `http.requestsInFlightMax`.
   */
  snapshots: { intervalTxs: number; fetchBytesMax: number; servesMax: number };
  /**
   * `holdBytesMax`: a transaction entry is only committed by a later signature, so entries wait for
   * it and are flushed and replicated with it in one round, until this many bytes are waiting
   * (0: each entry is flushed and sent at once). Signatures are never held.
   * `receiptCacheTxs`: the primary keeps what the receipts of this many of its latest transactions
   * need (96 bytes each, src/node/receipt-cache.ts), so answering a commit wait reads nothing back
   * from disk; older receipts read the ledger (0: every receipt does).
   * `evidencePrefetchTxs`: the primary computes the commit evidence of the next this many seqnos
   * ahead on a worker thread (64 bytes each, two windows at most; src/node/evidence-prefetch.ts);
   * 0 computes each one inline, on the event loop. Otherwise in [16, 65,536].
   */
  ledger: {
    chunkBytesMax: number;
    batchBytesMax: number;
    holdBytesMax: number;
    receiptCacheTxs: number;
    evidencePrefetchTxs: number;
  };
  http: {
    bodyBytesMax: number;
    requestsInFlightMax: number;
    commitWaitMsMax: number;
    headersTimeoutMs: number;
    keepAliveTimeoutMs: number;
    /**
     * Response bytes a client connection accepts ahead of its socket within one event-loop turn,
     * written together (src/node/write-batch.ts); beyond it, the socket's own back-pressure.
     */
    responseBatchBytesMax: number;
  };
  kv: { keyBytesMax: number; valueBytesMax: number; writeSetBytesMax: number; txAttemptsMax: number };
  /**
   * The history index of `historical` queries (docs/apps.md §4). `atStart` false (the default): made
   * by the node's first historical query, then built in the background. True: built from the whole
   * ledger before the node serves, so queries after a restart never wait for it, at the CPU and
   * memory of indexing every committed write from then on.
   */
  historyIndex: { atStart: boolean };
  /** Transactions applied but not yet committed; writes are refused (503) beyond this. */
  uncommittedTxsMax: number;
  log: { level: "debug" | "info" | "warn" | "error" };
  /**
   * Multi-node: where this node listens for other nodes (mutual TLS, docs/operations.md). Null runs
   * a single node with local commit; set it to start a network (or join one with `join`).
   */
  nodeToNode: { host: string; port: number } | null;
  /** Join an existing service through `target` (the HTTPS address of any of its nodes). */
  join: { target: string; serviceCertificate: string | null; pollMs: number } | null;
  /**
   * The curve of the node key (node identity) made when this node starts a service, recovers one
   * or joins one: it signs the Merkle root every signature interval. P-384 (SHA-384) by default;
   * a P-256 (SHA-256) signature takes about 12× less CPU (docs/decisions/node-key-curve.md). A
   * node that restarts from its sealed identity keeps the key it has. The service key is P-384.
   */
  nodeKey: { curve: NodeKeyCurve };
  /** Consensus timing; an election timeout is `electionTimeoutTicks` × `tickMs`. */
  consensus: {
    tickMs: number;
    electionTimeoutTicks: number;
    heartbeatIntervalTicks: number;
    inboxMessagesMax: number;
  };
  /** Node-to-node channel limits (see src/node/channels/README.md). */
  channels: {
    frameBytesMax: number;
    queueFramesMax: number;
    queueBytesMax: number;
    reconnectMsMin: number;
    reconnectMsMax: number;
  };
};

export const configDefaults: Omit<NodeConfig, "dataDir" | "genesis"> & { genesis: NodeConfig["genesis"] } = {
  rpc: { host: "127.0.0.1", port: 0 },
  subjectAltNames: [],
  platform: "virtual",
  genesis: { members: [], users: [], open: false },
  signatures: { intervalTxs: 5000, intervalMs: 10, minIntervalMs: null },
  snapshots: { intervalTxs: 100_000, fetchBytesMax: 1024 * 1024 * 1024, servesMax: 2 },
  ledger: {
    chunkBytesMax: 16 * 1024 * 1024,
    batchBytesMax: 8 * 1024 * 1024,
    holdBytesMax: 64 * 1024,
    receiptCacheTxs: RECEIPT_CACHE_TXS_DEFAULT,
    evidencePrefetchTxs: EVIDENCE_PREFETCH_TXS_DEFAULT,
  },
  http: {
    bodyBytesMax: 1024 * 1024,
    requestsInFlightMax: 10_000,
    commitWaitMsMax: 10_000,
    headersTimeoutMs: 10_000,
    keepAliveTimeoutMs: 60_000,
    responseBatchBytesMax: 64 * 1024,
  },
  kv: { keyBytesMax: 4096, valueBytesMax: 1024 * 1024, writeSetBytesMax: 4 * 1024 * 1024, txAttemptsMax: 10 },
  historyIndex: { atStart: false },
  uncommittedTxsMax: 200_000,
  log: { level: "info" },
  nodeToNode: null,
  join: null,
  nodeKey: { curve: "P-384" },
  consensus: { tickMs: 50, electionTimeoutTicks: 10, heartbeatIntervalTicks: 1, inboxMessagesMax: 100_000 },
  channels: {
    frameBytesMax: 16 * 1024 * 1024,
    queueFramesMax: 100_000,
    queueBytesMax: 256 * 1024 * 1024,
    reconnectMsMin: 50,
    reconnectMsMax: 2000,
  },
};

function bad(field: string, why: string): CoterieError {
  return new CoterieError("COTERIE_ERR_INVALID_INPUT", `config ${field}: ${why}`);
}

function int(field: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw bad(field, `must be an integer in [${min}, ${max}], got ${JSON.stringify(value)}`);
  }
  return value;
}

function section<T extends object>(name: string, defaults: T, input: unknown): T {
  if (input === undefined) return { ...defaults };
  if (typeof input !== "object" || input === null || Array.isArray(input))
    throw bad(name, "must be an object");
  for (const k of Object.keys(input)) if (!(k in defaults)) throw bad(`${name}.${k}`, "unknown field");
  return { ...defaults, ...(input as Partial<T>) };
}

export function validateConfig(input: unknown): NodeConfig {
  if (typeof input !== "object" || input === null) throw bad("", "must be a JSON object");
  const i = input as Record<string, unknown>;
  for (const k of Object.keys(i))
    if (!(k in configDefaults) && k !== "dataDir") throw bad(k, "unknown field");
  if (typeof i.dataDir !== "string" || i.dataDir === "") throw bad("dataDir", "must be a non-empty path");
  const d = configDefaults;
  const c: NodeConfig = {
    dataDir: i.dataDir,
    rpc: section("rpc", d.rpc, i.rpc),
    subjectAltNames: (i.subjectAltNames as string[] | undefined) ?? [],
    platform: "virtual",
    genesis: section("genesis", d.genesis, i.genesis),
    signatures: section("signatures", d.signatures, i.signatures),
    snapshots: section("snapshots", d.snapshots, i.snapshots),
    ledger: section("ledger", d.ledger, i.ledger),
    http: section("http", d.http, i.http),
    kv: section("kv", d.kv, i.kv),
    historyIndex: section("historyIndex", d.historyIndex, i.historyIndex),
    uncommittedTxsMax: (i.uncommittedTxsMax as number | undefined) ?? d.uncommittedTxsMax,
    log: section("log", d.log, i.log),
    nodeToNode:
      i.nodeToNode == null ? null : section("nodeToNode", { host: "127.0.0.1", port: 0 }, i.nodeToNode),
    join:
      i.join == null
        ? null
        : section("join", { target: "", serviceCertificate: null as string | null, pollMs: 500 }, i.join),
    nodeKey: section("nodeKey", d.nodeKey, i.nodeKey),
    consensus: section("consensus", d.consensus, i.consensus),
    channels: section("channels", d.channels, i.channels),
  };
  if (i.platform !== undefined && i.platform !== "virtual")
    throw bad("platform", 'only "virtual" is available so far');
  int("rpc.port", c.rpc.port, 0, 65535);
  int("signatures.intervalTxs", c.signatures.intervalTxs, 1, 1_000_000);
  int("signatures.intervalMs", c.signatures.intervalMs, 1, 60_000);
  if (c.signatures.minIntervalMs !== null)
    int("signatures.minIntervalMs", c.signatures.minIntervalMs, 0, c.signatures.intervalMs);
  int("snapshots.intervalTxs", c.snapshots.intervalTxs, 0, 100_000_000);
  int("snapshots.fetchBytesMax", c.snapshots.fetchBytesMax, 4096, 2 ** 40);
  int("snapshots.servesMax", c.snapshots.servesMax, 1, 64);
  int("ledger.chunkBytesMax", c.ledger.chunkBytesMax, 4096);
  int("ledger.batchBytesMax", c.ledger.batchBytesMax, 4096);
  int("ledger.holdBytesMax", c.ledger.holdBytesMax, 0, c.ledger.batchBytesMax);
  int("ledger.receiptCacheTxs", c.ledger.receiptCacheTxs, 0, 1_048_576);
  // 0 (off) or a window of at least 16: a window of a few seqnos is a message per few writes.
  if (c.ledger.evidencePrefetchTxs !== 0)
    int("ledger.evidencePrefetchTxs", c.ledger.evidencePrefetchTxs, 16, 65_536);
  int("http.bodyBytesMax", c.http.bodyBytesMax, 1, 64 * 1024 * 1024);
  int("http.requestsInFlightMax", c.http.requestsInFlightMax, 1);
  int("http.commitWaitMsMax", c.http.commitWaitMsMax, 1);
  int("http.responseBatchBytesMax", c.http.responseBatchBytesMax, 1, 16 * 1024 * 1024);
  int("kv.txAttemptsMax", c.kv.txAttemptsMax, 1, 1000);
  int("kv.writeSetBytesMax", c.kv.writeSetBytesMax, 1);
  int("uncommittedTxsMax", c.uncommittedTxsMax, c.signatures.intervalTxs);
  if (c.kv.valueBytesMax > c.kv.writeSetBytesMax)
    throw bad("kv.valueBytesMax", "must not exceed kv.writeSetBytesMax");
  if (c.kv.writeSetBytesMax > c.ledger.batchBytesMax) {
    throw bad(
      "kv.writeSetBytesMax",
      "must not exceed ledger.batchBytesMax (one entry must fit in a flush batch)",
    );
  }
  if (c.http.bodyBytesMax > c.kv.writeSetBytesMax)
    throw bad("http.bodyBytesMax", "must not exceed kv.writeSetBytesMax");
  if (typeof c.historyIndex.atStart !== "boolean") throw bad("historyIndex.atStart", "must be true or false");
  if (!["debug", "info", "warn", "error"].includes(c.log.level))
    throw bad("log.level", "debug, info, warn or error");
  if (!isNodeKeyCurve(c.nodeKey.curve))
    throw bad("nodeKey.curve", `must be "P-384" or "P-256", got ${JSON.stringify(c.nodeKey.curve)}`);
  checkConsensusConfig(c);
  return c;
}

/** The multi-node sections and the relations between their limits and the ledger's. */
function checkConsensusConfig(c: NodeConfig): void {
  if (c.join !== null) {
    if (c.nodeToNode === null)
      throw bad("join", "needs nodeToNode (the address other nodes reach this one at)");
    if (!/^https:\/\/[^/]+$/.test(c.join.target)) throw bad("join.target", "must be https://host:port");
    int("join.pollMs", c.join.pollMs, 10, 60_000);
  }
  // The consensus and channel limits matter (and are checked) only for a node of a network.
  if (c.nodeToNode === null) return;
  int("nodeToNode.port", c.nodeToNode.port, 0, 65535);
  int("consensus.tickMs", c.consensus.tickMs, 1, 10_000);
  int("consensus.electionTimeoutTicks", c.consensus.electionTimeoutTicks, 2, 10_000);
  int(
    "consensus.heartbeatIntervalTicks",
    c.consensus.heartbeatIntervalTicks,
    1,
    c.consensus.electionTimeoutTicks - 1,
  );
  int("consensus.inboxMessagesMax", c.consensus.inboxMessagesMax, 16);
  int("channels.queueFramesMax", c.channels.queueFramesMax, 1);
  int("channels.reconnectMsMin", c.channels.reconnectMsMin, 1);
  int("channels.reconnectMsMax", c.channels.reconnectMsMax, c.channels.reconnectMsMin);
  // One maximal entry must fit in a frame, with room for the message and entry headers.
  int("channels.frameBytesMax", c.channels.frameBytesMax, c.kv.writeSetBytesMax + 64 * 1024, 2 ** 32 - 1);
  int("channels.queueBytesMax", c.channels.queueBytesMax, c.channels.frameBytesMax);
}
