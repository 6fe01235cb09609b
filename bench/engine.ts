// A single-node engine over a temporary ledger, for the micro-benchmarks of the write path without
// HTTP (write-path.ts, commit-latency.ts), with the node's default signature policy (every 10 ms or
// 5,000 transactions). `dispose` closes the engine and removes the directory.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Store } from "../src/kv/index.ts";
import { Ledger } from "../src/ledger/ledger.ts";
import { Engine, type EngineOptions } from "../src/node/engine.ts";
import { createIdentity, type Identity } from "../src/node/identity.ts";
import { LocalReplicator } from "../src/node/replicator.ts";
import { ViewHistory } from "../src/node/view-history.ts";

export type BenchEngine = {
  engine: Engine;
  ledger: Ledger;
  replicator: LocalReplicator;
  dispose(): Promise<void>;
};

export async function benchEngine(
  name: string,
  options: Partial<EngineOptions> = {},
  adjustIdentity: (identity: Identity) => void = () => {},
): Promise<BenchEngine> {
  const dir = mkdtempSync(join(tmpdir(), `coterie-${name}-`));
  const { ledger } = Ledger.open(join(dir, "ledger"), { chunkBytesMax: 16 << 20, batchBytesMax: 8 << 20 });
  const replicator = new LocalReplicator(ledger, (e) => {
    throw e;
  });
  const identity = await createIdentity([]);
  adjustIdentity(identity);
  const engine = new Engine({
    store: new Store(),
    ledger,
    identity,
    replicator,
    views: new ViewHistory(1),
    committedSeqno: 0,
    options: {
      signatureIntervalTxs: 5000,
      signatureIntervalMs: 10,
      txAttemptsMax: 10,
      uncommittedTxsMax: 10_000,
      ...options,
    },
  });
  return {
    engine,
    ledger,
    replicator,
    dispose: async () => {
      await engine.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
