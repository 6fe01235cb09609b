// Adaptive signing (`signatures.minIntervalMs`): a write is signed at the end of its turn when the
// last signature has committed, writes gather behind a signature still in flight, and the floor
// spaces signatures out. A replicator that commits only when the test says so stands in for
// consensus, so "in flight" is under the test's control.
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import type { Curve } from "../../../src/crypto/keys.ts";
import { Store, utf8 } from "../../../src/kv/index.ts";
import { Ledger } from "../../../src/ledger/ledger.ts";
import { Engine, type EngineOptions } from "../../../src/node/engine.ts";
import { createIdentity } from "../../../src/node/identity.ts";
import type { Replicator } from "../../../src/node/replicator.ts";
import { ViewHistory } from "../../../src/node/view-history.ts";
import { tempDir } from "../ledger/helpers.ts";

/** Records what the engine appends; commits only through `commit`. */
class ManualReplicator implements Replicator {
  onCommit: (seqno: number) => void = () => {};
  readonly signatures: number[] = [];
  replicate(seqno: number, isSignature: boolean): void {
    if (isSignature) this.signatures.push(seqno);
  }
  isPrimary(): boolean {
    return true;
  }
  commit(seqno: number): void {
    this.onCommit(seqno);
  }
  async close(): Promise<void> {}
}

async function makeEngine(options: Partial<EngineOptions>, curve: Curve = "P-256") {
  const { ledger } = Ledger.open(join(tempDir(), "ledger"), {
    chunkBytesMax: 1 << 20,
    batchBytesMax: 1 << 20,
  });
  const replicator = new ManualReplicator();
  const engine = new Engine({
    store: new Store(),
    ledger,
    identity: await createIdentity([], curve),
    replicator,
    views: new ViewHistory(1),
    committedSeqno: 0,
    options: {
      signatureIntervalTxs: 1000,
      // The fixed interval never fires in these tests: every signature seen is an adaptive one.
      signatureIntervalMs: 60_000,
      txAttemptsMax: 3,
      uncommittedTxsMax: 10_000,
      ...options,
    },
  });
  engine.start();
  return { engine, replicator, ledger };
}

const write = (engine: Engine, key: string) =>
  engine.execute((tx) => tx.typed("public:t", utf8, utf8).put(key, "v"), { reservedWrites: false });

const immediate = () => new Promise((resolve) => setImmediate(resolve));
/** Until after the iteration following this turn: when an adaptive signature is made. */
const turn = async () => {
  await immediate();
  await immediate();
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test("adaptive signing: writes of one turn are signed together just after it", async () => {
  const { engine, replicator, ledger } = await makeEngine({ signatureMinIntervalMs: 0 });
  await Promise.all([write(engine, "a"), write(engine, "b"), write(engine, "c")]);
  assert.deepEqual(replicator.signatures, [], "not signed within the turn that wrote");
  await turn();
  assert.deepEqual(replicator.signatures, [4], "one signature after the three writes");
  assert.equal(ledger.lastSeqno, 4);
  replicator.commit(4);
  assert.equal(engine.status({ view: 1, seqno: 2 }), "Committed");
  await engine.close();
});

test("adaptive signing: what the committing turn queued for its end (the responses' write) runs before the next signature", async () => {
  const { engine, replicator } = await makeEngine({ signatureMinIntervalMs: 0 });
  await write(engine, "a"); // 1
  await turn(); // signature 2
  await write(engine, "b"); // 3, behind signature 2
  const seen: number[][] = [];
  replicator.commit(2); // frees the round: 3 is to be signed
  // What write-batch.ts does with the responses this commit completed.
  setImmediate(() => seen.push([...replicator.signatures]));
  await turn();
  assert.deepEqual(seen, [[2]], "the turn's own end ran before the signature was made");
  assert.deepEqual(replicator.signatures, [2, 4]);
  await engine.close();
});

test("adaptive signing: writes behind an uncommitted signature wait for its commit, then sign at once", async () => {
  const { engine, replicator } = await makeEngine({ signatureMinIntervalMs: 0 });
  await write(engine, "a"); // 1
  await turn(); // signature 2
  assert.deepEqual(replicator.signatures, [2]);
  await write(engine, "b"); // 3
  await write(engine, "c"); // 4
  await sleep(20);
  assert.deepEqual(replicator.signatures, [2], "no second signature while the first is in flight");
  replicator.commit(2);
  await turn();
  assert.deepEqual(replicator.signatures, [2, 5], "the commit frees the round: 3 and 4 are signed together");
  await engine.close();
});

test("adaptive signing: the floor spaces signatures out by minIntervalMs", async () => {
  // Long enough that a loaded machine does not use it up between the two writes' turns.
  const floorMs = 300;
  const { engine, replicator } = await makeEngine({ signatureMinIntervalMs: floorMs });
  // The floor counts from the first signature's start, which is after this.
  const first = performance.now();
  await write(engine, "a"); // 1
  await turn();
  assert.deepEqual(replicator.signatures, [2], "the first signature is not held by the floor");
  replicator.commit(2);
  await write(engine, "b"); // 3
  await turn();
  assert.deepEqual(replicator.signatures, [2], "committed, but the floor has not passed");
  while (replicator.signatures.length < 2 && performance.now() - first < 5000) await sleep(5);
  assert.deepEqual(replicator.signatures, [2, 4]);
  assert.ok(performance.now() - first >= floorMs - 1, "the second signature waited for the floor");
  await engine.close();
});

test("without minIntervalMs (or with it at the interval) only the interval timer and intervalTxs sign", async () => {
  for (const options of [{}, { signatureMinIntervalMs: 60_000 }]) {
    const { engine, replicator } = await makeEngine(options);
    await write(engine, "a");
    await sleep(20);
    assert.deepEqual(replicator.signatures, [], JSON.stringify(options));
    await engine.close();
  }
});

test("adaptive signing with a P-384 key signs on the thread pool and still gathers the writes behind it", async () => {
  const { engine, replicator, ledger } = await makeEngine({ signatureMinIntervalMs: 0 }, "P-384");
  await write(engine, "a"); // 1
  await turn(); // the signature for 2 is being made
  const held = write(engine, "b"); // waits for the signature, then takes 3
  await engine.signatureSettled();
  assert.deepEqual(replicator.signatures, [2]);
  assert.equal((await held).txId?.seqno, 3);
  replicator.commit(2);
  await turn();
  await engine.signatureSettled();
  assert.deepEqual(replicator.signatures, [2, 4]);
  assert.equal(ledger.lastSeqno, 4);
  await engine.close();
});

test("adaptive signing: a rolled-back signature does not block the next one", async () => {
  const { engine, replicator } = await makeEngine({ signatureMinIntervalMs: 0 });
  await write(engine, "a"); // 1
  await turn(); // signature 2, never committed
  assert.deepEqual(replicator.signatures, [2]);
  await engine.rollback(1);
  await write(engine, "b"); // 2 again
  await turn();
  assert.deepEqual(replicator.signatures, [2, 3], "the new suffix is signed without waiting for the old");
  await engine.close();
});
