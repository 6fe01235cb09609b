// Snapshots on a real engine and ledger: a governance-triggered snapshot is written, its digest is
// the claims digest of the evidence transaction (whose receipt verifies), the restored store equals
// the live one key by key with versions, snapshot + ledger suffix (across a later rekey) equals a
// full replay, the frontier reproduces every tree root, and damaged or wrongly keyed files are refused.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { verifyReceipt } from "../../../src/crypto/receipt.ts";
import { Store, utf8 } from "../../../src/kv/index.ts";
import { decodeEntry, privateWritesOf, publicWritesOf } from "../../../src/ledger/entry.ts";
import { Ledger } from "../../../src/ledger/ledger.ts";
import { leafHashSync, MerkleTree } from "../../../src/ledger/merkle-tree.ts";
import { decodeSnapshot, snapshotDigest } from "../../../src/ledger/snapshot.ts";
import { rootFromFrontier, treeFrontier } from "../../../src/ledger/snapshot-frontier.ts";
import { Engine } from "../../../src/node/engine.ts";
import { createIdentity, type Identity } from "../../../src/node/identity.ts";
import { createLogger } from "../../../src/node/logger.ts";
import { Replayer } from "../../../src/node/replay.ts";
import { LocalReplicator } from "../../../src/node/replicator.ts";
import { rekey } from "../../../src/node/secrets.ts";
import { latestCommittedSnapshot, storeFromSnapshot } from "../../../src/node/snapshot-files.ts";
import { SnapshotService } from "../../../src/node/snapshot-service.ts";
import { ViewHistory } from "../../../src/node/view-history.ts";
import { serviceTriggers } from "../../../src/tables/governance.ts";
import { snapshotEvidence } from "../../../src/tables/secrets.ts";
import { SERVICE_INFO_KEY, serviceInfo } from "../../../src/tables/service.ts";
import { bothVerifiers, tempDir } from "./helpers.ts";

const options = { chunkBytesMax: 1 << 16, batchBytesMax: 1 << 20 };

async function makeEngine(dir: string, identity: Identity) {
  const { ledger } = Ledger.open(join(dir, "ledger"), options);
  const replicator = new LocalReplicator(ledger, (e) => {
    throw e;
  });
  const engineOptions = {
    signatureIntervalTxs: 5,
    signatureIntervalMs: 1000,
    txAttemptsMax: 3,
    uncommittedTxsMax: 10_000,
  };
  return new Engine({
    store: new Store(),
    ledger,
    identity,
    replicator,
    views: new ViewHistory(1),
    committedSeqno: 0,
    options: engineOptions,
  });
}

async function write(engine: Engine, from: number, to: number) {
  for (let i = from; i < to; i++)
    await engine.execute(
      (tx) => {
        tx.typed("secret.records", utf8, utf8).put(`k${i % 17}`, `v${i}`);
        tx.typed("public:records", utf8, utf8).put(`p${i % 5}`, `v${i}`);
      },
      { reservedWrites: false },
    );
  engine.appendSignature();
  await engine.ledger.flush();
  await new Promise((r) => setImmediate(r));
}

/**
 * Takes a triggered snapshot and signs once its evidence is appended, so that the evidence commits.
 * Writing the file takes several event-loop turns, more on a loaded machine: a signature on a fixed
 * timer could come before the evidence, which then waited out its commit timeout.
 */
async function takeSnapshot(engine: Engine, service: SnapshotService): Promise<string | null> {
  const before = engine.ledger.lastSeqno;
  let settled = false;
  const taking = service.tick().finally(() => {
    settled = true;
  });
  while (!settled && engine.ledger.lastSeqno === before) await new Promise((r) => setTimeout(r, 5));
  if (!settled) engine.appendSignature();
  return taking;
}

function dump(store: Store) {
  const snap = store.snapshotAt(store.version);
  return snap
    .mapNames()
    .map((name) => [
      name,
      [...snap.versionedEntries(name)].map((e) => [
        Buffer.from(e.key).toString(),
        Buffer.from(e.value).toString(),
        e.version,
      ]),
    ]);
}

test("a triggered snapshot: evidence receipt binds the file, restore equals the live state, plus suffix equals full replay", async () => {
  const dir = tempDir();
  const identity = await createIdentity([]);
  const engine = await makeEngine(dir, identity);
  await write(engine, 0, 40);
  await engine.execute((tx) => serviceTriggers.in(tx).put("snapshot", { proposal_id: "p" }), {
    reservedWrites: true,
  });
  engine.appendSignature();
  await engine.ledger.flush();
  await new Promise((r) => setImmediate(r));
  assert.equal(engine.committedSeqno, engine.store.version, "everything committed before the snapshot");
  const live = dump(engine.store);
  const service = new SnapshotService(engine, join(dir, "snapshots"), 0, createLogger("error"));
  const path = await takeSnapshot(engine, service);
  assert.ok(path?.endsWith(".committed"), String(path));
  const file = latestCommittedSnapshot(join(dir, "snapshots"));
  assert.ok(file);
  const bytes = readFileSync(file.path);
  const s = file.seqno;
  assert.equal(serviceTriggers.in(engine.store.beginTx()).get("snapshot"), undefined, "trigger consumed");
  assert.equal(snapshotEvidence.in(engine.store.beginTx()).get(String(s))?.digest, snapshotDigest(bytes));
  const receipt = engine.receipt({ view: engine.view, seqno: file.evidenceSeqno });
  assert.ok(receipt);
  await verifyReceipt(receipt, identity.serviceCert);
  assert.equal(
    receipt.leaf_components.claims_digest,
    snapshotDigest(bytes),
    "the receipt alone proves the file",
  );

  const { store, contents } = storeFromSnapshot(bytes, identity.ledgerSecrets);
  assert.deepEqual(dump(store), live);
  assert.ok(
    dump(store).some(([name]) => name === "secret.records"),
    "private maps are in it",
  );
  assert.ok(rootFromFrontier(contents.frontier).equals(engine.ledger.tree.root(s)));
  assert.deepEqual(contents.viewStarts, [[1, 1]]);

  // More writes across a rekey; then snapshot + suffix == everything replayed from the start.
  await rekey(engine);
  await write(engine, 40, 80);
  await engine.close();
  await engine.ledger.close();
  const full = new Store();
  const again = { ...identity, ledgerSecrets: identity.ledgerSecrets.slice(0, 1) };
  const replayer = new Replayer(full, again);
  const { ledger } = Ledger.open(join(dir, "ledger"), options, (e) => replayer.apply(e));
  for (let seqno = s + 1; seqno <= ledger.lastSeqno; seqno++) {
    const entry = decodeEntry(ledger.files.read(seqno));
    const secret = identity.ledgerSecrets.find((x) => x.version === entry.header.secretVersion);
    const writes = [
      ...publicWritesOf(entry),
      ...(secret && entry.header.privateBytes > 0 ? privateWritesOf(entry, secret) : []),
    ];
    writes.sort((a, b) => (a.name < b.name ? -1 : 1));
    store.applyWriteSet(writes, seqno);
  }
  assert.deepEqual(dump(store), dump(full));
  await ledger.close();
});

test("the frontier reproduces the root of every tree size (RFC 9162 MTH)", () => {
  const tree = new MerkleTree();
  for (let n = 1; n <= 130; n++) {
    tree.append(leafHashSync(Buffer.from(`leaf ${n}`)));
    const frontier = treeFrontier(tree, n);
    assert.equal(frontier.length, n.toString(2).replaceAll("0", "").length);
    assert.ok(rootFromFrontier(frontier).equals(tree.root(n)), `size ${n}`);
  }
});

test("damaged, truncated or wrongly keyed snapshots are refused", async () => {
  const dir = tempDir();
  const identity = await createIdentity([]);
  const engine = await makeEngine(dir, identity);
  await write(engine, 0, 10);
  const { encodeSnapshot } = await import("../../../src/ledger/snapshot.ts");
  const s = engine.committedSeqno;
  const bytes = encodeSnapshot(
    engine.store.snapshotAt(s),
    treeFrontier(engine.ledger.tree, s),
    [[1, 1]],
    identity.ledgerSecrets[0]!,
  );
  const secret = identity.ledgerSecrets[0]!;
  assert.equal(decodeSnapshot(bytes, secret).seqno, s);
  const code = { code: "COTERIE_ERR_SNAPSHOT_MALFORMED" };
  const flipped = Buffer.from(bytes);
  flipped[flipped.length - 20]! ^= 1;
  assert.throws(() => decodeSnapshot(flipped, secret), code);
  assert.throws(() => decodeSnapshot(bytes.subarray(0, bytes.length - 1), secret), code);
  assert.throws(() => decodeSnapshot(bytes.subarray(0, 30), secret), code);
  assert.throws(() => decodeSnapshot(bytes, { version: secret.version, key: new Uint8Array(32) }), code);
  assert.throws(() => decodeSnapshot(bytes, null), code);
  await engine.close();
  await engine.ledger.close();
});

test("a ledger that starts after a snapshot verifies from it; a different or unrecorded snapshot is refused", async () => {
  const { verifyLedgerDirectory } = await import("../../../src/ledger/verify.ts");
  const { verifyLedgerChunks } = await import("../../../src/client/ledger-verify.ts");
  const { encodeSnapshot, snapshotHead } = await import("../../../src/ledger/snapshot.ts");
  const dir = tempDir();
  const identity = await createIdentity([]);
  const engine = await makeEngine(dir, identity);
  await write(engine, 0, 30);
  await engine.execute(
    (tx) => {
      serviceInfo
        .in(tx)
        .put(SERVICE_INFO_KEY, { cert: identity.serviceCert, status: "Open", created_at: "1.1" });
      serviceTriggers.in(tx).put("snapshot", { proposal_id: "p" });
    },
    { reservedWrites: true },
  );
  engine.appendSignature();
  await engine.ledger.flush();
  await new Promise((r) => setImmediate(r));
  const service = new SnapshotService(engine, join(dir, "snapshots"), 0, createLogger("error"));
  await takeSnapshot(engine, service);
  const file = latestCommittedSnapshot(join(dir, "snapshots"));
  assert.ok(file);
  const bytes = readFileSync(file.path);
  await write(engine, 30, 45);
  const last = engine.ledger.lastSeqno;
  // The suffix alone, as a node that joined from the snapshot holds it.
  const suffixDir = (cut: number) => {
    const d = tempDir();
    const { ledger } = Ledger.open(d, options, () => {}, snapshotHead(bytes));
    for (let seqno = file.seqno + 1; seqno <= cut; seqno++) {
      const entry = engine.ledger.files.read(seqno);
      ledger.files.append(Buffer.from(entry), seqno, engine.ledger.lastSignatureAtOrBefore(seqno) === seqno);
    }
    return { d, ledger };
  };
  const { d, ledger } = suffixDir(last);
  await ledger.flush();
  // Every case runs both verifiers (`coterie ledger verify` and the browser's): same report or
  // same refusal, word for word.
  const verified = (serviceCertPem?: string, snapshot = bytes) =>
    bothVerifiers(d, serviceCertPem, snapshot).then((r) => {
      if (r instanceof Error) throw r;
      return r;
    });
  const refused = async (dir: string, snapshot: Buffer | undefined, message: RegExp) => {
    const r = await bothVerifiers(dir, undefined, snapshot);
    assert.ok(r instanceof Error, `verified: ${JSON.stringify(r)}`);
    assert.equal((r as { code?: string }).code, "COTERIE_ERR_LEDGER_VERIFY_FAILED");
    assert.match(r.message, message);
  };
  const report = await verified();
  assert.deepEqual(report.snapshot, { seqno: file.seqno, evidenceSeqno: file.evidenceSeqno });
  assert.equal(report.serviceCertSource, "snapshot");
  assert.equal(report.lastSignedSeqno, engine.ledger.lastSignatureAtOrBefore(last));
  assert.equal((await verified(identity.serviceCert)).entries, last - file.seqno);
  await refused(d, undefined, /chunk starts at/);
  // Another snapshot at the same seqno (fresh nonce: another digest) is not the recorded one.
  const other = encodeSnapshot(
    storeFromSnapshot(bytes, identity.ledgerSecrets).store.snapshotAt(file.seqno),
    snapshotHead(bytes).frontier,
    snapshotHead(bytes).viewStarts,
    identity.ledgerSecrets[0]!,
  );
  await refused(d, other, /another digest/);
  const flipped = Buffer.from(bytes);
  flipped[48]! ^= 1; // the first frontier hash: another digest before any root is checked
  await refused(d, flipped, /another digest/);
  // Damaged structure: each refused with the same words by both.
  const setU32 = (offset: number, value: (b: Buffer) => number) => (b: Buffer) => {
    b.writeUInt32LE(value(b), offset);
    return b;
  };
  const cases: Array<[string, (b: Buffer) => Buffer, RegExp]> = [
    ["magic", (b) => Buffer.concat([Buffer.from("X"), b.subarray(1)]), /not a snapshot file/],
    ["version", setU32(8, () => 2), /unknown format version/],
    ["frontier count", setU32(32, () => 65), /frontier or view history beyond the file/],
    ["one frontier hash fewer", setU32(32, (b) => b.readUInt32LE(32) - 1), /section lengths do not add up/],
    ["truncated", (b) => b.subarray(0, b.length - 1), /section lengths do not add up/],
    [
      "public section one byte short",
      (b) => setU32(40, (x) => x.readUInt32LE(40) - 1)(b).subarray(0, b.length - 1),
      /map section runs past its end/,
    ],
  ];
  for (const [what, damage, message] of cases) {
    await refused(d, damage(Buffer.from(bytes)), message).catch((e: Error) => {
      e.message = `${what}: ${e.message}`;
      throw e;
    });
  }
  await ledger.close();
  // A suffix cut before the evidence: the snapshot is bound by nothing signed.
  const short = suffixDir(file.evidenceSeqno - 1);
  await short.ledger.flush();
  // No chunk at all here: the position names the directory (CLI) or the snapshot (browser).
  assert.throws(() => verifyLedgerDirectory(short.d, { snapshot: bytes }), {
    code: "COTERIE_ERR_LEDGER_VERIFY_FAILED",
    message: /no signed entry records the evidence of snapshot/,
  });
  await assert.rejects(verifyLedgerChunks([], { snapshot: new Uint8Array(bytes) }), {
    code: "COTERIE_ERR_LEDGER_VERIFY_FAILED",
    message: `entry ${file.seqno} (snapshot at byte 0): no signed entry records the evidence of snapshot ${file.seqno}`,
  });
  await short.ledger.close();
  await engine.close();
  await engine.ledger.close();
});

test("snapshot maps round-trip byte for byte, versions above 2^32 included", async () => {
  const { encodeSnapshotMaps, decodeSnapshotMaps } = await import("../../../src/ledger/snapshot-maps.ts");
  const maps = [
    { name: "a", entries: [] },
    {
      name: "public:é",
      entries: [
        { key: new Uint8Array([0]), value: new Uint8Array(0), version: 1 },
        { key: new Uint8Array([1, 2]), value: new Uint8Array([3, 4, 5]), version: 2 ** 32 + 7 },
        { key: new Uint8Array([9]), value: new Uint8Array(300).fill(7), version: Number.MAX_SAFE_INTEGER },
      ],
    },
  ];
  const bytes = encodeSnapshotMaps(maps);
  const back = decodeSnapshotMaps(bytes);
  assert.deepEqual(
    back.map((m) => ({ name: m.name, entries: [...m.entries] })),
    maps,
  );
  assert.equal(bytes.readBigUInt64LE(bytes.length - 8), BigInt(Number.MAX_SAFE_INTEGER));
  // Entries are views into the section, decoded anew on each iteration: no copy per key or value.
  const [first, second] = [[...back[1]!.entries], [...back[1]!.entries]];
  assert.deepEqual(first, second);
  for (const e of first) assert.ok(e.key.buffer === bytes.buffer && e.value.buffer === bytes.buffer);
  // The whole section is checked before any entry is handed out.
  assert.throws(() => decodeSnapshotMaps(Buffer.concat([bytes, Buffer.alloc(1)])), /trailing bytes/);
  assert.throws(() => decodeSnapshotMaps(bytes.subarray(0, bytes.length - 1)), /runs past its end/);
});

test("collecting a large state yields to the event loop and encodes the same state", async () => {
  const { collectSnapshotMaps, encodeSnapshotOf, encodeSnapshot } = await import(
    "../../../src/ledger/snapshot.ts"
  );
  const store = new Store();
  for (let i = 0; i < 5000; i += 500) {
    const tx = store.beginTx();
    for (let j = i; j < i + 500; j++) {
      tx.typed("records", utf8, utf8).put(`k${j}`, `v${j}`);
      tx.typed("public:records", utf8, utf8).put(`p${j}`, `w${j}`);
    }
    store.commit(tx);
  }
  const secret = { version: 1, key: new Uint8Array(32).fill(3) };
  const snap = store.snapshotAt(store.version);
  let ticks = 0;
  const timer = setInterval(() => ticks++, 0);
  const collecting = collectSnapshotMaps(snap, 1000);
  // Writes committed while collecting do not change what is collected.
  const tx = store.beginTx();
  tx.typed("records", utf8, utf8).put("k0", "changed");
  store.commit(tx);
  const maps = await collecting;
  clearInterval(timer);
  assert.ok(ticks > 0, "timers ran while 10,000 entries were collected 1,000 per turn");
  const yielded = decodeSnapshot(encodeSnapshotOf(snap.version, maps, [], [[1, 1]], secret), secret);
  const inOneTurn = decodeSnapshot(encodeSnapshot(snap, [], [[1, 1]], secret), secret);
  const flat = (c: typeof yielded) => c.maps.map((m) => ({ name: m.name, entries: [...m.entries] }));
  assert.deepEqual(flat(yielded), flat(inOneTurn));
  assert.equal(yielded.seqno, snap.version);
  const records = flat(yielded).find((m) => m.name === "records");
  assert.equal(Buffer.from(records?.entries[0]?.value ?? []).toString(), "v0");
});
