// A single-node engine over a temporary ledger, for tests of the write path without HTTP.
import { join } from "node:path";
import type { Curve } from "../../../src/crypto/keys.ts";
import { Store } from "../../../src/kv/index.ts";
import { Ledger } from "../../../src/ledger/ledger.ts";
import { Engine, type EngineOptions } from "../../../src/node/engine.ts";
import { createIdentity } from "../../../src/node/identity.ts";
import { LocalReplicator } from "../../../src/node/replicator.ts";
import { ViewHistory } from "../../../src/node/view-history.ts";
import { tempDir } from "../ledger/helpers.ts";

export async function makeEngine(
  options: Partial<EngineOptions> = {},
  holdBytesMax = 0,
  nodeKeyCurve: Curve = "P-384",
): Promise<Engine> {
  const { ledger } = Ledger.open(join(tempDir(), "ledger"), {
    chunkBytesMax: 1 << 20,
    batchBytesMax: 1 << 20,
  });
  const replicator = new LocalReplicator(
    ledger,
    (e) => {
      throw e;
    },
    holdBytesMax,
  );
  const engine = new Engine({
    store: new Store(),
    ledger,
    identity: await createIdentity([], nodeKeyCurve),
    replicator,
    views: new ViewHistory(1),
    committedSeqno: 0,
    options: {
      signatureIntervalTxs: 1000,
      signatureIntervalMs: 1000,
      txAttemptsMax: 3,
      uncommittedTxsMax: 10_000,
      ...options,
    },
  });
  // As the node does (src/node/node.ts): the engine closes first, then its ledger's files.
  const close = engine.close.bind(engine);
  engine.close = async () => {
    await close();
    await ledger.close();
  };
  return engine;
}
