// Property test: the store against a deliberately naive model (a sorted array of entries per
// version, rebuilt by copying on every commit), over seeded random operation sequences.
import assert from "node:assert/strict";
import { test } from "node:test";
import { compareBytes, Store, type Tx, type WriteSet } from "../../../src/kv/index.ts";
import { prng } from "./helpers.ts";

type Row = { map: string; key: Uint8Array; value: Uint8Array; version: number };
/** The naive model: `versions[v]` is every entry at version v, sorted by map then key bytes. */
type Model = { versions: Row[][]; compacted: number };

const maps = ["a", "public:b"];

function sortRows(rows: Row[]): Row[] {
  return rows.sort((x, y) => (x.map === y.map ? compareBytes(x.key, y.key) : x.map < y.map ? -1 : 1));
}

function modelGet(rows: Row[], map: string, key: Uint8Array): Row | undefined {
  return rows.find((r) => r.map === map && compareBytes(r.key, key) === 0);
}

function randomKey(next: () => number): Uint8Array {
  return Uint8Array.from(
    { length: Math.floor(next() * 3) },
    () => [0, 1, 0x7f, 0x80, 0xff][Math.floor(next() * 5)] as number,
  );
}

/** One random write transaction against both; reads checked against the model at its snapshot. */
function randomTx(next: () => number, store: Store, model: Model): void {
  const tx: Tx = store.beginTx();
  const base = model.versions[store.version] as Row[];
  const own = base.map((r) => ({ ...r }));
  const steps = 1 + Math.floor(next() * 6);
  for (let i = 0; i < steps; i++) {
    const map = maps[Math.floor(next() * maps.length)] as string;
    const key = randomKey(next);
    const roll = next();
    if (roll < 0.4) {
      const value = Uint8Array.of(Math.floor(next() * 256), i);
      tx.put(map, key, value);
      const row = modelGet(own, map, key);
      if (row) row.value = value;
      else own.push({ map, key, value, version: -1 });
    } else if (roll < 0.6) {
      tx.delete(map, key);
      const index = own.findIndex((r) => r.map === map && compareBytes(r.key, key) === 0);
      if (index >= 0) own.splice(index, 1);
    } else if (roll < 0.8) {
      assert.deepEqual(tx.get(map, key), modelGet(own, map, key)?.value);
    } else {
      checkRange(next, tx, sortRows(own), map);
    }
  }
  const result = store.commit(tx);
  if (result.status === "read-only") return;
  assert.equal(result.status, "ok", "a single writer never conflicts");
  const version = model.versions.length;
  const previous = new Map(base.map((r) => [`${r.map}|${r.key.join(",")}`, r]));
  const rows = own.map((r) => {
    const old = previous.get(`${r.map}|${r.key.join(",")}`);
    const written = result.writeSet.some(
      (m) => m.name === r.map && m.writes.some((w) => compareBytes(w.key, r.key) === 0),
    );
    return { ...r, version: written || old === undefined ? version : old.version };
  });
  model.versions.push(sortRows(rows));
}

function checkRange(next: () => number, tx: Tx, rows: Row[], map: string): void {
  const limit = 1 + Math.floor(next() * 3);
  const reverse = next() < 0.5;
  const from = next() < 0.5 ? randomKey(next) : undefined;
  const expected = rows
    .filter((r) => r.map === map && (from === undefined || compareBytes(r.key, from) >= 0))
    .map((r) => [r.key, r.value]);
  if (reverse) expected.reverse();
  const got: Array<[Uint8Array, Uint8Array]> = [];
  let cursor: string | undefined;
  for (let page = 0; page < 100; page++) {
    const options = { limit, reverse, ...(from ? { from } : {}), ...(cursor ? { cursor } : {}) };
    const result = tx.range(map, options);
    got.push(...result.entries);
    cursor = result.cursor;
    if (cursor === undefined) break;
  }
  assert.deepEqual(got, expected);
}

/** Every retained version of the store equals the model's, entry by entry, with versions. */
function checkAll(store: Store, model: Model): void {
  for (let v = store.compactedVersion; v <= store.version; v++) {
    const snap = store.snapshotAt(v);
    const rows: Row[] = [];
    for (const map of snap.mapNames()) {
      for (const [key, value] of snap.entries(map)) {
        rows.push({ map, key, value, version: snap.versionOf(map, key) as number });
      }
    }
    assert.deepEqual(rows, model.versions[v], `version ${v}`);
  }
}

test("the store matches a naive model over random operations, rollbacks and compactions (seeded)", () => {
  for (let seed = 1; seed <= 40; seed++) {
    const next = prng(seed);
    const store = new Store();
    const model: Model = { versions: [[]], compacted: 0 };
    for (let step = 0; step < 60; step++) {
      const roll = next();
      if (roll < 0.8) randomTx(next, store, model);
      else if (roll < 0.9) {
        const target =
          store.compactedVersion + Math.floor(next() * (store.version - store.compactedVersion + 1));
        store.rollback(target);
        model.versions.length = target + 1;
      } else {
        const target =
          store.compactedVersion + Math.floor(next() * (store.version - store.compactedVersion + 1));
        store.compact(target);
      }
      assert.equal(store.version, model.versions.length - 1, `seed ${seed} step ${step}`);
    }
    checkAll(store, model);
  }
});

type Read = { map: string; key: Uint8Array; scanFrom?: Uint8Array };

/** Did a write set committed after `readVersion` touch something in `reads`? (The naive rule.) */
function touched(
  log: Array<{ version: number; writeSet: WriteSet }>,
  readVersion: number,
  reads: Read[],
): boolean {
  return log.some(
    ({ version, writeSet }) =>
      version > readVersion &&
      writeSet.some((m) =>
        m.writes.some((w) =>
          reads.some(
            (r) =>
              r.map === m.name &&
              (r.scanFrom === undefined
                ? compareBytes(r.key, w.key) === 0
                : compareBytes(w.key, r.scanFrom) >= 0),
          ),
        ),
      ),
  );
}

test("interleaved transactions conflict exactly when a later commit touched what they read (seeded)", () => {
  let conflicts = 0;
  let commits = 0;
  for (let seed = 100; seed < 140; seed++) {
    const next = prng(seed);
    const store = new Store();
    const log: Array<{ version: number; writeSet: WriteSet }> = [];
    const open: Array<{ tx: Tx; reads: Read[] }> = [];
    for (let step = 0; step < 80; step++) {
      if (open.length < 3 || next() < 0.5) {
        const tx = store.beginTx();
        const map = maps[Math.floor(next() * maps.length)] as string;
        const key = randomKey(next);
        const reads: Read[] = [{ map, key }];
        tx.get(map, key);
        if (next() < 0.3) {
          tx.range(map, { from: key, limit: 1000 });
          reads.push({ map, key, scanFrom: key });
        }
        tx.put(maps[Math.floor(next() * maps.length)] as string, randomKey(next), Uint8Array.of(step));
        open.push({ tx, reads });
        continue;
      }
      const { tx, reads } = open.splice(Math.floor(next() * open.length), 1)[0] as (typeof open)[number];
      const expected = touched(log, tx.readVersion, reads) ? "conflict" : "ok";
      const result = store.commit(tx);
      assert.equal(result.status, expected, `seed ${seed} step ${step}`);
      if (result.status === "ok") {
        log.push({ version: result.version, writeSet: result.writeSet });
        commits++;
      } else conflicts++;
    }
  }
  assert.ok(
    conflicts > 50 && commits > 50,
    `both outcomes exercised (${conflicts} conflicts, ${commits} commits)`,
  );
});
