// Engines with RaftReplicators in one process over an in-memory network (no TLS), for the
// replicator's tests. Messages go through `network.deliver`, which tests can watch or block.
import { join } from "node:path";
import type { Message } from "../../../src/consensus/index.ts";
import { seededRandom } from "../../../src/consensus/index.ts";
import { generateKeyPair } from "../../../src/crypto/keys.ts";
import { certificateId, endorseCertificate } from "../../../src/crypto/x509.ts";
import { Store, utf8 } from "../../../src/kv/index.ts";
import { Ledger } from "../../../src/ledger/ledger.ts";
import { Engine } from "../../../src/node/engine.ts";
import { createIdentity, type Identity } from "../../../src/node/identity.ts";
import { createLogger } from "../../../src/node/logger.ts";
import { RaftReplicator } from "../../../src/node/raft-replicator.ts";
import { LedgerStorage } from "../../../src/node/raft-storage.ts";
import { ViewHistory } from "../../../src/node/view-history.ts";
import { tempDir } from "../ledger/helpers.ts";

export type Node = { id: string; engine: Engine; replicator: RaftReplicator; ledger: Ledger };

export type ClusterOptions = {
  tickMs?: number;
  holdBytesMax?: number;
  signatureIntervalTxs?: number;
  signatureIntervalMs?: number;
};

export class Cluster {
  readonly nodes: Node[] = [];
  readonly failures: unknown[] = [];
  readonly blocked = new Set<string>();
  /** Called for every message sent, before delivery (blocked or not). */
  onSend: (m: Message) => void = () => {};

  deliver(m: Message): void {
    this.onSend(m);
    if (this.blocked.has(m.from) || this.blocked.has(m.to)) return;
    setImmediate(() => this.nodes.find((n) => n.id === m.to)?.replicator.receive(m));
  }

  static async create(size: number, o: ClusterOptions = {}): Promise<Cluster> {
    const cluster = new Cluster();
    const base = await createIdentity([]);
    const identities: Identity[] = [];
    for (let i = 0; i < size; i++) {
      const node = generateKeyPair("P-384");
      const nodeCert = await endorseCertificate(node, base.service, base.serviceCert, {
        subject: "CN=n",
        validityDays: 1,
      });
      identities.push({
        ...base,
        node,
        nodeCert,
        nodeId: certificateId(nodeCert),
        ledgerSecrets: [...base.ledgerSecrets],
      });
    }
    const voters = identities.map((x) => x.nodeId);
    identities.forEach((identity, i) => {
      const dir = tempDir();
      const { ledger } = Ledger.open(join(dir, "ledger"), { chunkBytesMax: 1 << 20, batchBytesMax: 1 << 20 });
      const views = new ViewHistory(1);
      const storage = new LedgerStorage({
        ledger,
        views,
        dir: join(dir, "raft"),
        state: { term: 0, vote: null, commit: 0, initialConfiguration: voters },
      });
      const replicator = new RaftReplicator({
        storage,
        raft: { id: identity.nodeId, electionTimeoutTicks: 10, heartbeatIntervalTicks: 1 },
        tickMs: o.tickMs ?? 10,
        inboxMessagesMax: 10_000,
        holdBytesMax: o.holdBytesMax ?? 0,
        send: (m) => cluster.deliver(m),
        log: createLogger("error"),
        onFailure: (e) => cluster.failures.push(e),
        random: seededRandom(i + 1),
      });
      const engine = new Engine({
        store: new Store(),
        ledger,
        identity,
        replicator,
        views,
        committedSeqno: 0,
        options: {
          signatureIntervalTxs: o.signatureIntervalTxs ?? 10,
          signatureIntervalMs: o.signatureIntervalMs ?? 5,
          txAttemptsMax: 3,
          uncommittedTxsMax: 10_000,
        },
      });
      replicator.attach(engine);
      engine.start();
      cluster.nodes.push({ id: identity.nodeId, engine, replicator, ledger });
    });
    return cluster;
  }

  async close(): Promise<void> {
    this.blocked.clear();
    for (const n of this.nodes) {
      await n.engine.close();
      await n.ledger.close();
    }
  }
}

export const until = async (cond: () => boolean, what: string, ms = 10_000): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
};
export const primaryOf = (among: Node[]): Node | undefined => among.find((n) => n.engine.isPrimary);
const kv = (tx: Parameters<Parameters<Engine["execute"]>[0]>[0]) => tx.typed("public:test.kv", utf8, utf8);
export const read = (n: Node, key: string): string | undefined => kv(n.engine.store.beginTx()).get(key);
export const write = (n: Node, key: string) =>
  n.engine.execute((tx) => kv(tx).put(key, `v-${key}`), { reservedWrites: false });
