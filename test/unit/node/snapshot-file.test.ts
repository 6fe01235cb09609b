// The snapshot service's file writer: the file is the one-shot encoding, private to the node; while
// it is being written (a crash then leaves it as it is) nothing would load it as a committed
// snapshot; an error part way removes it; a starting service removes what a crash left.
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { type Snapshot, Store, utf8 } from "../../../src/kv/index.ts";
import { encodeSnapshot } from "../../../src/ledger/snapshot.ts";
import { createLogger } from "../../../src/node/logger.ts";
import { committedSnapshots, snapshotToReplay } from "../../../src/node/snapshot-files.ts";
import { SnapshotService, writeSnapshotFile } from "../../../src/node/snapshot-service.ts";
import { tempDir } from "../ledger/helpers.ts";
import { makeEngine } from "./engine-fixture.ts";

const secret = { version: 2, key: new Uint8Array(32).fill(5) };
const nonce = new Uint8Array(12).fill(1);

function filledStore(n: number): Store {
  const store = new Store();
  const tx = store.beginTx();
  for (let i = 0; i < n; i++) {
    tx.typed("records", utf8, utf8).put(String(i), `benchmark record ${i} abcdefghijklmnopqrstuvwxyz`);
    tx.typed("public:records", utf8, utf8).put(String(i), `public ${i}`);
  }
  store.commit(tx);
  return store;
}

/**
 * `kv` whose second walk of `records` (the writing pass; the first one sizes) calls `during` after
 * `after` entries.
 */
function observed(kv: Snapshot, after: number, during: () => void): Snapshot {
  const wrapper = Object.create(kv) as Snapshot;
  let walks = 0;
  wrapper.versionedEntriesLatin1 = function* (map: string) {
    const writing = map === "records" && ++walks === 2;
    let i = 0;
    for (const entry of kv.versionedEntriesLatin1(map)) {
      if (writing && ++i === after) during();
      yield entry;
    }
  };
  return wrapper;
}

test("the file is the one-shot encoding, readable by the node's user only", async () => {
  const dir = tempDir();
  const kv = filledStore(3000).snapshotAt();
  const path = join(dir, `snapshot_${kv.version}`);
  const written = await writeSnapshotFile(path, kv, [], [[1, 1]], secret, { nonce, chunkBytes: 4096 });
  const oneShot = encodeSnapshot(kv, [], [[1, 1]], secret, nonce);
  assert.ok(readFileSync(path).equals(oneShot));
  assert.equal(written.bytes, oneShot.length);
  assert.equal(statSync(path).mode & 0o777, 0o600);
});

test("while the file is written, nothing takes it as a committed snapshot", async () => {
  const dir = tempDir();
  const kv = filledStore(3000).snapshotAt();
  const path = join(dir, `snapshot_${kv.version}`);
  let seen = false;
  const watching = observed(kv, 2000, () => {
    seen = true;
    assert.ok(existsSync(path) && statSync(path).size > 0, "part of the file is on disk");
    assert.deepEqual(committedSnapshots(dir), []);
    assert.equal(snapshotToReplay(dir, {}), null);
  });
  await writeSnapshotFile(path, watching, [], [[1, 1]], secret, { chunkBytes: 4096 });
  assert.ok(seen);
});

test("an error part way removes the file", async () => {
  const dir = tempDir();
  const kv = filledStore(3000).snapshotAt();
  const path = join(dir, `snapshot_${kv.version}`);
  const failing = observed(kv, 2000, () => {
    throw new Error("disk on fire");
  });
  await assert.rejects(
    writeSnapshotFile(path, failing, [], [[1, 1]], secret, { chunkBytes: 4096 }),
    /disk on fire/,
  );
  assert.deepEqual(readdirSync(dir), []);
});

test("a starting service removes what a crash left (a file being written or fetched), not committed ones", async () => {
  const dir = tempDir();
  const kept = ["snapshot_40_42.committed", "unrelated.txt"];
  const left = ["snapshot_57", "snapshot_60_61.committed.fetching"];
  for (const name of [...kept, ...left]) writeFileSync(join(dir, name), "x");
  const engine = await makeEngine();
  try {
    new SnapshotService(engine, dir, 0, createLogger("error"));
    assert.deepEqual(readdirSync(dir).sort(), kept.sort());
  } finally {
    await engine.close();
  }
});
