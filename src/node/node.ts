/**
 * A running node: opens (or creates) the service identity and ledger, replays the ledger into the
 * store, starts a new view, and serves clients. On restart the entries after the last signature
 * are discarded: they were never reported committed, and a new view keeps AES-GCM nonces unique.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { App } from "../app/index.ts";
import { createPlatform, type Platform, virtualMeasurement } from "../attestation/index.ts";
import { curveOf, privateKeyToPem } from "../crypto/keys.ts";
import { certificateId } from "../crypto/x509.ts";
import { ConstitutionRuntime, genesisGovernance } from "../governance/index.ts";
import { Store } from "../kv/index.ts";
import type { LedgerSecret } from "../ledger/entry.ts";
import { firstSeqnoInDir } from "../ledger/files.ts";
import { Ledger } from "../ledger/ledger.ts";
import { snapshotHead } from "../ledger/snapshot.ts";
import { codeIds, hostData, VIRTUAL_HOST_DATA } from "../tables/attestation.ts";
import { memberCerts, memberInfo, nodeInfo, userCerts, userInfo } from "../tables/identities.ts";
import { recoveryState } from "../tables/secrets.ts";
import { SERVICE_INFO_KEY, serviceInfo } from "../tables/service.ts";
import { assert } from "../util/assert.ts";
import { CoterieError } from "../util/errors.ts";
import { appBundleValidator } from "./bundle.ts";
import { AppMount } from "./bundle-mount.ts";
import { CODE_ID, virtualCodeId } from "./code-id.ts";
import type { NodeConfig } from "./config.ts";
import { Engine } from "./engine.ts";
import { Frontend } from "./frontend.ts";
import { createGovernanceApp } from "./gov-app.ts";
import { createIdentity, hasIdentity, type Identity, loadIdentity, saveIdentity } from "./identity.ts";
import { buildHistoryIndex, historyIndexSeqno } from "./indexes.ts";
import { joinService } from "./join.ts";
import { createLogger, type Logger } from "./logger.ts";
import { Metrics } from "./metrics.ts";
import { consensusState, Network, type PortHolds, pinAddresses, raftDir, writeJoinPeers } from "./network.ts";
import { writePersistedState } from "./raft-storage.ts";
import { beginRecovery, recoveryPending } from "./recovery.ts";
import { recoveryApp } from "./recovery-service.ts";
import { Replayer } from "./replay.ts";
import { LocalReplicator } from "./replicator.ts";
import { networks } from "./routing.ts";
import { watchRuntime } from "./runtime-metrics.ts";
import { SecretsService } from "./secrets-service.ts";
import { fetchLatestSnapshot } from "./snapshot-fetch.ts";
import { checkSnapshotEvidence, snapshotToReplay } from "./snapshot-files.ts";
import { SnapshotService } from "./snapshot-service.ts";

export { CODE_ID };

export type RunningNode = {
  engine: Engine;
  address: { host: string; port: number };
  url: string;
  serviceCertPem: string;
  close(): Promise<void>;
};

/** The node's platform: it seals and unseals `<dataDir>/sealed` (tests read a node's identity with it). */
export function platformFor(config: NodeConfig): Platform {
  mkdirSync(join(config.dataDir, "sealed"), { recursive: true, mode: 0o700 });
  return createPlatform("virtual", {
    measurement: virtualMeasurement(new TextEncoder().encode(virtualCodeId())),
    machineKeyPath: join(config.dataDir, "sealed", "virtual-machine.key"),
  });
}

/** `recover`: start a new service identity on a previous service's ledger (docs/operations.md). */
export async function startNode(
  config: NodeConfig,
  app: App,
  options: { recover?: boolean } = {},
): Promise<RunningNode> {
  // Multi-node (docs/operations.md): fixed addresses, held from now until each server listens.
  const held = config.nodeToNode !== null ? await pinAddresses(config) : null;
  try {
    return await startOnPorts(config, app, options, held);
  } finally {
    // Already released when the servers listened; a start-up that failed before that frees them here.
    await Promise.all([held?.rpc?.release(), held?.nodeToNode?.release()]);
  }
}

async function startOnPorts(
  config: NodeConfig,
  app: App,
  options: { recover?: boolean },
  held: PortHolds | null,
): Promise<RunningNode> {
  const recover = options.recover === true;
  const log = createLogger(config.log.level);
  const platform = platformFor(config);
  const security = platform.describeSecurity();
  if (security.insecure) for (const line of security.message.split("\n")) log.warn(line);
  const sealedDir = join(config.dataDir, "sealed");
  const isNew = !hasIdentity(sealedDir);
  // A joiner gets its identity from the service.
  const joined = isNew && config.join !== null ? await joinService(config, platform, log) : null;
  const identity =
    joined?.identity ??
    (isNew
      ? await createIdentity(config.subjectAltNames, config.nodeKey.curve)
      : await loadIdentity(sealedDir, platform));
  const nodeKeyCurve = curveOf(identity.node.publicKey);
  if (nodeKeyCurve !== config.nodeKey.curve) {
    log.info("the sealed node key keeps its curve; nodeKey.curve applies to a new identity only", {
      node_key: nodeKeyCurve,
      configured: config.nodeKey.curve,
    });
  }
  if (recover && !isNew)
    throw new CoterieError(
      "COTERIE_ERR_INVALID_INPUT",
      "recover mode needs a data directory without a node identity",
    );
  // A joiner's consensus state goes first: a crash before its identity is sealed means a new join.
  if (joined !== null) {
    const initialConfiguration = joined.initialConfiguration;
    writePersistedState(raftDir(config), { term: 0, vote: null, commit: 0, initialConfiguration }, true);
    writeJoinPeers(config, joined.nodes);
  }
  if (isNew && !recover) await saveIdentity(sealedDir, identity, platform);
  const consensus = config.nodeToNode === null ? null : consensusState(config, identity, isNew);
  writeFileSync(join(config.dataDir, "service_cert.pem"), identity.serviceCert);

  const storeOptions = {
    keyBytesMax: config.kv.keyBytesMax,
    valueBytesMax: config.kv.valueBytesMax,
    writeSetBytesMax: config.kv.writeSetBytesMax,
    // A backup's commit index may lag its leader's: room for twice the leader's uncommitted window.
    versionsRetainedMax:
      (config.nodeToNode === null ? 1 : 2) * config.uncommittedTxsMax + config.signatures.intervalTxs + 16,
  };
  // A joiner catches up from the latest committed snapshot of its target (verified against the
  // service certificate), and its ledger starts after it; without one it replays from seqno 1.
  const snapshotsDir = join(config.dataDir, "snapshots");
  if (joined !== null && config.join !== null)
    await fetchLatestSnapshot(config.join.target, identity, snapshotsDir, log, {
      fileBytesMax: config.snapshots.fetchBytesMax,
    });
  // Start from the latest committed snapshot: replay applies only the ledger suffix after it.
  const ledgerFirst = firstSeqnoInDir(join(config.dataDir, "ledger"));
  // In recover mode too: `coterie recover start` places the one its chosen ledger needs (if any).
  const snapshot = snapshotToReplay(snapshotsDir, storeOptions, ledgerFirst);
  const replayer = new Replayer(new Store(storeOptions), identity, {
    // A recovering node restarted before the shares came back holds only secrets from its own start.
    publicOnlyBelow: recover ? Number.MAX_SAFE_INTEGER : (identity.ledgerSecrets[0]?.version ?? 0),
    ...(snapshot === null ? {} : { snapshot }),
    ...(consensus === null ? {} : { consensusCommit: consensus.commit }),
  });
  const { ledger, recovery } = Ledger.open(
    join(config.dataDir, "ledger"),
    config.ledger,
    (e) => replayer.apply(e),
    snapshot === null ? null : snapshotHead(snapshot.bytes),
  );
  if (recover && ledger.lastSeqno === 0)
    throw new CoterieError(
      "COTERIE_ERR_RECOVERY_NO_LEDGER",
      "recover mode needs the previous ledger in dataDir/ledger",
    );
  if (isNew && ledger.lastSeqno > 0 && joined === null && !recover) {
    throw new CoterieError(
      "COTERIE_ERR_LEDGER_CORRUPT",
      "ledger files exist but the node identity is missing",
    );
  }
  if (recovery.truncatedBytes > 0) {
    log.warn("truncated a torn ledger tail", { at: recovery.truncatedAt, bytes: recovery.truncatedBytes });
  }
  const { views, committedSeqno, discarded } = await replayer.finish(ledger);
  if (discarded > 0) log.warn("discarded unsigned ledger suffix", { entries: discarded });
  if (snapshot !== null) {
    // Recovery trusts a snapshot only through the evidence its (verified) ledger records.
    checkSnapshotEvidence(replayer.store, snapshot, { allowMissing: !recover && ledger.firstSeqno > 1 });
    log.info("started from snapshot", { seqno: snapshot.seqno, replayed: ledger.lastSeqno - snapshot.seqno });
  }
  if (recover) {
    // The new secret encrypts from the recovery transaction on; the old ones come back with the shares.
    (identity.ledgerSecrets[0] as LedgerSecret).version = ledger.lastSeqno + 1;
    await saveIdentity(sealedDir, identity, platform);
  }

  let engine: Engine | null = null;
  const onFailure = (error: unknown) => {
    log.error("ledger write or consensus failed; stopping", { error: String(error) });
    process.exit(70);
  };
  const network =
    consensus === null
      ? null
      : new Network({
          config,
          identity,
          ledger,
          views,
          state: consensus,
          log,
          onFailure,
          ...(replayer.baseConfiguration === null ? {} : { baseConfiguration: replayer.baseConfiguration }),
        });
  if (network !== null) {
    await held?.nodeToNode?.release();
    await network.listen();
  }
  const replicator =
    network?.replicator ?? new LocalReplicator(ledger, onFailure, config.ledger.holdBytesMax);
  engine = new Engine({
    store: replayer.store,
    ledger,
    identity,
    replicator,
    views,
    committedSeqno,
    options: {
      signatureIntervalTxs: config.signatures.intervalTxs,
      signatureIntervalMs: config.signatures.intervalMs,
      ...(config.signatures.minIntervalMs === null
        ? {}
        : { signatureMinIntervalMs: config.signatures.minIntervalMs }),
      txAttemptsMax: config.kv.txAttemptsMax,
      uncommittedTxsMax: config.uncommittedTxsMax,
      receiptCacheTxs: config.ledger.receiptCacheTxs,
      evidencePrefetchTxs: config.ledger.evidencePrefetchTxs,
      onEvidencePrefetchFailure: (e) =>
        log.warn("commit evidence prefetch stopped; computing it inline", { error: e.message }),
    },
  });
  if (network !== null) {
    networks.set(engine, network);
    network.attach(engine);
  }
  if (recover) {
    await beginRecovery(engine, identity, `${config.rpc.host}:${config.rpc.port}`, snapshot?.seqno ?? null);
    log.warn("recover mode: waiting for members to open the service and submit their recovery shares");
  } else if (isNew && joined === null) {
    await network?.becomePrimary(10_000);
    await genesis(engine, identity, config, log, network?.address);
  }
  engine.start();
  const running = await serve(
    engine,
    identity,
    config,
    app,
    log,
    () => saveIdentity(sealedDir, identity, platform),
    () => held?.rpc?.release() ?? Promise.resolve(),
  );
  if (network === null) return running;
  return { ...running, close: () => running.close().then(() => network.close()) };
}

async function serve(
  engine: Engine,
  identity: Identity,
  config: NodeConfig,
  app: App,
  log: Logger,
  persistIdentity: () => Promise<void>,
  /** Frees the client port `pinAddresses` held, just before the frontend listens on it. */
  releaseRpcPort: () => Promise<void>,
): Promise<RunningNode> {
  const metrics = new Metrics();
  metrics.gauge("coterie_commit_seqno", "Highest committed seqno.", () => engine.committedSeqno);
  metrics.gauge("coterie_last_seqno", "Highest seqno in the ledger.", () => engine.lastSeqno);
  metrics.gauge(
    "coterie_ledger_bytes",
    "Bytes in ledger chunk files, including pending.",
    () => engine.ledger.files.totalBytes,
  );
  metrics.gauge("coterie_view", "Current view.", () => engine.view);
  metrics.gauge(
    "coterie_history_index_seqno",
    "Last seqno the history index has indexed; -1 until the first historical query makes it (or historyIndex.atStart at start).",
    () => historyIndexSeqno(engine),
  );
  metrics.counter(
    "coterie_ledger_syncs_total",
    "Durable (O_DSYNC) writes that made appended ledger entries durable.",
    "kind",
    () => new Map([["append", engine.ledger.files.syncs]]),
  );
  metrics.counter(
    "coterie_commit_evidence_total",
    "Commit evidence of appended transactions, by where it came from: the worker's windows or computed inline.",
    "source",
    () => {
      const { hits, misses } = engine.evidencePrefetchStats;
      return new Map([
        ["prefetch", hits],
        ["inline", misses],
      ]);
    },
  );
  const runtime = watchRuntime(metrics);
  const replicator = networks.get(engine)?.replicator;
  if (replicator !== undefined) {
    metrics.counter(
      "coterie_consensus_messages_sent_total",
      "Consensus messages sent to other nodes, by type.",
      "type",
      () => replicator.sent,
    );
    metrics.counter(
      "coterie_consensus_messages_received_total",
      "Consensus messages received from other nodes and queued for the core, by type.",
      "type",
      () => replicator.received,
    );
  }
  // Asked on every request: decode the two records only when a write to either map changes its
  // content token (immutable trees: the same token is the same content, even across a rollback).
  let openCache: { info: object | null; recovery: object | null; open: boolean } = {
    info: null,
    recovery: null,
    open: false,
  };
  const serviceOpen = () => {
    const info = engine.store.contentToken(serviceInfo.name);
    const recovery = engine.store.contentToken(recoveryState.name);
    if (info !== openCache.info || recovery !== openCache.recovery) {
      const tx = engine.store.beginTx();
      openCache = {
        info,
        recovery,
        open: serviceInfo.in(tx).get(SERVICE_INFO_KEY)?.status === "Open" && !recoveryPending(tx),
      };
    }
    return openCache.open;
  };
  // Asked on every request: this node's record is decoded only when the node table changes. Its
  // retirement counts once committed here (a retired node's commit index stops just past it).
  let retiredCache: { token: object | null; retiredAt: number | null } = { token: null, retiredAt: null };
  const selfRetired = () => {
    const token = engine.store.contentToken(nodeInfo.name);
    if (token !== retiredCache.token) {
      const nodes = nodeInfo.in(engine.store.beginTx());
      const self = identity.nodeId;
      const retired = nodes.get(self)?.status === "Retired";
      retiredCache = { token, retiredAt: retired ? (nodes.versionOf(self) ?? null) : null };
    }
    return retiredCache.retiredAt !== null && retiredCache.retiredAt <= engine.committedSeqno;
  };
  // The user app under /app: built in, or the governed bundle once `set_app` commits (bundle-mount.ts).
  const appMount = new AppMount(engine, app, log);
  appMount.start();
  // Otherwise the first historical query makes it (docs/apps.md §4).
  if (config.historyIndex.atStart) buildHistoryIndex(engine);
  const secrets = new SecretsService(
    engine,
    log,
    () => engine.isPrimary && !recoveryPending(engine.store.beginTx()),
  );
  secrets.start();
  const snapshotsDir = join(config.dataDir, "snapshots");
  const snapshots = new SnapshotService(
    engine,
    snapshotsDir,
    config.snapshots.intervalTxs,
    log,
    () => engine.isPrimary && !recoveryPending(engine.store.beginTx()),
  );
  snapshots.start();
  const governance = new ConstitutionRuntime({ validateAppBundle: (source) => appBundleValidator(source) });
  const frontend = new Frontend({
    config,
    engine,
    mounts: [
      appMount.mount,
      { prefix: "/gov", app: createGovernanceApp(governance), reservedWrites: true, requireOpen: false },
      {
        prefix: "/gov",
        app: recoveryApp(engine, governance, config, log, persistIdentity),
        reservedWrites: true,
        requireOpen: false,
      },
    ],
    log,
    metrics,
    serviceOpen,
    selfRetired,
    tls: { key: privateKeyToPem(identity.node.privateKey), cert: identity.nodeCert },
  });
  await releaseRpcPort();
  const address = await frontend.listen(config.rpc.host, config.rpc.port);
  const url = `https://${address.host}:${address.port}`;
  writeFileSync(join(config.dataDir, "rpc_address"), `${url}\n`);
  log.info("listening", {
    url,
    node_id: identity.nodeId,
    node_key: curveOf(identity.node.publicKey),
    view: engine.view,
    committed: engine.committedSeqno,
  });
  return {
    engine,
    address,
    url,
    serviceCertPem: identity.serviceCert,
    async close() {
      await frontend.close();
      runtime.stop();
      appMount.stop();
      secrets.stop();
      snapshots.stop();
      governance.dispose();
      await engine.close();
      await engine.ledger.close();
    },
  };
}

/** The first transaction of a new service: its certificate, this node, and the initial members and users. */
async function genesis(
  engine: Engine,
  identity: Identity,
  config: NodeConfig,
  log: Logger,
  nodeToNodeAddress?: string,
): Promise<void> {
  const address = `${config.rpc.host}:${config.rpc.port}`;
  const { txId } = await engine.execute(
    (tx) => {
      serviceInfo.in(tx).put(SERVICE_INFO_KEY, {
        cert: identity.serviceCert,
        status: config.genesis.open ? "Open" : "Opening",
        created_at: `${engine.view}.1`,
      });
      nodeInfo.in(tx).put(identity.nodeId, {
        cert: identity.nodeCert,
        status: "Trusted",
        rpc_address: address,
        ...(nodeToNodeAddress === undefined ? {} : { node_to_node_address: nodeToNodeAddress }),
        platform: config.platform,
      });
      for (const m of config.genesis.members) {
        const id = certificateId(m.cert);
        memberCerts.in(tx).put(id, m.cert);
        const info: { status: "Accepted"; member_data?: unknown; encryption_public_key?: string } = {
          status: "Accepted",
        };
        if (m.data !== undefined) info.member_data = m.data;
        if (m.encryption_public_key !== undefined) info.encryption_public_key = m.encryption_public_key;
        memberInfo.in(tx).put(id, info);
      }
      genesisGovernance(tx);
      // Like CCF, the first node's own code is allowed to join; members govern the list from here.
      codeIds
        .in(tx)
        .put(virtualMeasurement(new TextEncoder().encode(virtualCodeId())), { status: "AllowedToJoin" });
      hostData.in(tx).put(VIRTUAL_HOST_DATA, { description: "virtual platform (no host data)" });
      for (const u of config.genesis.users) {
        const id = certificateId(u.cert);
        userCerts.in(tx).put(id, u.cert);
        userInfo.in(tx).put(id, u.data === undefined ? {} : { user_data: u.data });
      }
    },
    { reservedWrites: true },
  );
  assert(txId !== null && txId.seqno === 1, "genesis is the first transaction");
  engine.appendSignature();
  log.info("created a new service", {
    service_cert_id: certificateId(identity.serviceCert),
    open: config.genesis.open,
  });
}
