// Ledger secrets on a real engine and ledger, without HTTP: a rekey under concurrent private writes
// loses and garbles nothing, a restarted node learns the new secret from the ledger, history is
// reachable from the latest secret, recovery shares (k of n, RSA and EC members) open the wrapped
// secret, fewer than k do not, and a rekey in a discarded unsigned suffix is forgotten.
import assert from "node:assert/strict";
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { join } from "node:path";
import { test } from "node:test";
import { type Curve, curveOf } from "../../../src/crypto/keys.ts";
import { combineShares } from "../../../src/crypto/shamir.ts";
import { Store, utf8 } from "../../../src/kv/index.ts";
import { Ledger } from "../../../src/ledger/ledger.ts";
import { Engine } from "../../../src/node/engine.ts";
import { createIdentity, currentLedgerSecret, type Identity } from "../../../src/node/identity.ts";
import { SHARE_LABEL, wrappedLabel } from "../../../src/node/recovery-shares.ts";
import { Replayer } from "../../../src/node/replay.ts";
import { LocalReplicator } from "../../../src/node/replicator.ts";
import { historicalLabel, reissueShares, rekey } from "../../../src/node/secrets.ts";
import { openSealed, unwrapUnder } from "../../../src/node/secrets-crypto.ts";
import { RECOVERY_CONFIG_KEY, recoveryConfig, serviceTriggers } from "../../../src/tables/governance.ts";
import { memberInfo, nodeInfo } from "../../../src/tables/identities.ts";
import {
  historicalSecrets,
  recoveryShares,
  WRAPPED_SECRET_KEY,
  wrappedSecret,
} from "../../../src/tables/secrets.ts";
import { tempDir } from "../ledger/helpers.ts";

const ledgerOptions = { chunkBytesMax: 1 << 16, batchBytesMax: 1 << 20 };
const engineOptions = {
  signatureIntervalTxs: 7,
  signatureIntervalMs: 1000,
  txAttemptsMax: 5,
  uncommittedTxsMax: 10_000,
};

function open(dir: string, identity: Identity) {
  const store = new Store();
  const replayer = new Replayer(store, identity);
  const { ledger } = Ledger.open(dir, ledgerOptions, (e) => replayer.apply(e));
  return { store, ledger, replayer };
}

async function engineOn(dir: string, identity: Identity) {
  const { store, ledger, replayer } = open(dir, identity);
  const { views, committedSeqno } = await replayer.finish(ledger);
  const replicator = new LocalReplicator(ledger, (e) => {
    throw e;
  });
  return new Engine({ store, ledger, identity, replicator, views, committedSeqno, options: engineOptions });
}

/** A copy of the identity as a restarted node unseals it: only what was sealed at creation. */
const restarted = (id: Identity): Identity => ({ ...id, ledgerSecrets: id.ledgerSecrets.slice(0, 1) });

/** Stops `engine`, then replays its ledger as a restarted node would (with `restarted(identity)`). */
async function replayAfterStop(engine: Engine, dir: string, identity: Identity) {
  await engine.close();
  await engine.ledger.close();
  const again = restarted(identity);
  const reopened = open(dir, again);
  await reopened.replayer.finish(reopened.ledger);
  return { again, reopened };
}

const priv = (tx: Parameters<Parameters<Engine["execute"]>[0]>[0]) => tx.typed("records", utf8, utf8);

async function setup(
  members: Array<{ id: string; publicKey: KeyObject }>,
  threshold: number,
  nodeKeyCurve: Curve = "P-384",
) {
  const dir = join(tempDir(), "ledger");
  const identity = await createIdentity([], nodeKeyCurve);
  const engine = await engineOn(dir, identity);
  await engine.execute(
    (tx) => {
      nodeInfo.in(tx).put(identity.nodeId, {
        cert: identity.nodeCert,
        status: "Trusted",
        rpc_address: "x",
        platform: "virtual",
      });
      for (const m of members) {
        const pem = m.publicKey.export({ type: "spki", format: "pem" }) as string;
        memberInfo.in(tx).put(m.id, { status: "Active", encryption_public_key: pem });
      }
      recoveryConfig.in(tx).put(RECOVERY_CONFIG_KEY, { threshold });
    },
    { reservedWrites: true },
  );
  return { dir, identity, engine };
}

function memberKeys() {
  const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const p256 = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const p384 = generateKeyPairSync("ec", { namedCurve: "P-384" });
  return [
    { id: "a".repeat(64), ...rsa },
    { id: "b".repeat(64), ...p256 },
    { id: "c".repeat(64), ...p384 },
  ];
}

async function shareOf(engine: Engine, member: { id: string; privateKey: KeyObject }) {
  const record = recoveryShares.in(engine.store.beginTx()).get(member.id);
  assert.ok(record, `member ${member.id.slice(0, 4)} has a share`);
  const sealed = {
    algorithm: record.algorithm,
    encrypted: record.encrypted_share,
    ...(record.ephemeral_public_key ? { ephemeral_public_key: record.ephemeral_public_key } : {}),
  };
  return openSealed(member.privateKey, sealed, SHARE_LABEL);
}

test("rekey under concurrent private writes: every record readable, restart learns the new secret", async () => {
  const keys = memberKeys();
  const { dir, identity, engine } = await setup(keys, 2);
  const writes: Promise<unknown>[] = [];
  const rekeys: Array<Promise<number | null>> = [];
  for (let i = 0; i < 200; i++) {
    writes.push(
      engine.execute(
        async (tx) => {
          await new Promise((r) => setImmediate(r));
          priv(tx).put(`k${i}`, `value ${i}`);
        },
        { reservedWrites: false },
      ),
    );
    if (i % 60 === 30) rekeys.push(rekey(engine));
  }
  await Promise.all(writes);
  const seqnos = await Promise.all(rekeys);
  assert.equal(seqnos.filter((s) => s !== null).length, 3);
  assert.equal(identity.ledgerSecrets.length, 4);
  for (const s of seqnos) assert.ok(identity.ledgerSecrets.some((x) => x.version === (s as number) + 1));
  // Restart with only the secret sealed at creation: the ledger teaches the three new ones.
  const { again, reopened } = await replayAfterStop(engine, dir, identity);
  assert.deepEqual(
    again.ledgerSecrets.map((s) => s.version),
    identity.ledgerSecrets.map((s) => s.version),
  );
  const tx = reopened.store.beginTx();
  for (let i = 0; i < 200; i++) assert.equal(priv(tx).get(`k${i}`), `value ${i}`);

  // History: from the latest secret, each earlier one unwraps in turn.
  let key: Uint8Array = currentLedgerSecret(identity).key;
  for (let i = identity.ledgerSecrets.length - 2; i >= 0; i--) {
    const older = identity.ledgerSecrets[i]!;
    const record = historicalSecrets.in(tx).get(String(older.version));
    assert.ok(record);
    assert.equal(record.next_version, identity.ledgerSecrets[i + 1]!.version);
    const opened = unwrapUnder(key, record.encrypted, historicalLabel(older.version));
    assert.ok(opened?.equals(Buffer.from(older.key)));
    key = opened as Buffer;
  }
  await reopened.ledger.close();
});

test("a node with a P-256 key learns a rekeyed secret sealed to it (ECIES-P256) when it replays", async () => {
  const { dir, identity, engine } = await setup([], 1, "P-256");
  assert.equal(curveOf(identity.node.publicKey), "P-256");
  await engine.execute((tx) => priv(tx).put("before", "v0"), { reservedWrites: false });
  const seqno = await rekey(engine);
  assert.ok(seqno !== null);
  await engine.execute((tx) => priv(tx).put("after", "v1"), { reservedWrites: false });
  const { again, reopened } = await replayAfterStop(engine, dir, identity);
  assert.deepEqual(
    again.ledgerSecrets.map((s) => s.version),
    [0, seqno + 1],
  );
  const tx = reopened.store.beginTx();
  assert.equal(priv(tx).get("after"), "v1");
  await reopened.ledger.close();
});

test("shares: any 2 of 3 open the wrapped latest secret, 1 does not, reissued on rekey", async () => {
  const keys = memberKeys();
  const { engine, identity } = await setup(keys, 2);
  assert.notEqual(await reissueShares(engine), null);
  const unwrap = async (members: typeof keys) => {
    const shares = await Promise.all(members.map((m) => shareOf(engine, m)));
    const w = wrappedSecret.in(engine.store.beginTx()).get(WRAPPED_SECRET_KEY);
    assert.ok(w);
    return unwrapUnder(await combineShares(shares), w.encrypted, wrappedLabel(w.version));
  };
  const latest = () => Buffer.from(currentLedgerSecret(identity).key);
  for (const pair of [
    [0, 1],
    [1, 2],
    [0, 2],
  ])
    assert.ok((await unwrap(pair.map((i) => keys[i]!)))?.equals(latest()));
  assert.equal(await unwrap([keys[0]!]), null, "one share of a 2-of-3 split reveals nothing");
  await rekey(engine);
  assert.ok((await unwrap([keys[2]!, keys[0]!]))?.equals(latest()), "rekey reissued the shares");
  // A member decrypting another member's share fails loudly.
  const record = recoveryShares.in(engine.store.beginTx()).get(keys[0]!.id)!;
  assert.throws(
    () =>
      openSealed(
        keys[1]!.privateKey,
        { algorithm: record.algorithm, encrypted: record.encrypted_share },
        SHARE_LABEL,
      ),
    { code: "COTERIE_ERR_RECOVERY_BAD_KEY" },
  );
  await engine.close();
  await engine.ledger.close();
});

test("a rekey in a discarded unsigned suffix is forgotten on restart; the trigger is consumed", async () => {
  const { dir, identity, engine } = await setup([], 1);
  engine.appendSignature();
  await engine.execute((tx) => serviceTriggers.in(tx).put("ledger_rekey", { proposal_id: "p" }), {
    reservedWrites: true,
  });
  engine.appendSignature();
  const seqno = await rekey(engine);
  assert.ok(seqno !== null);
  assert.equal(serviceTriggers.in(engine.store.beginTx()).get("ledger_rekey"), undefined);
  await engine.execute((tx) => priv(tx).put("late", "unsigned"), { reservedWrites: false });
  await engine.ledger.flush(); // durable but never signed: no close(), which would sign
  const again = restarted(identity);
  const reopened = open(dir, again);
  assert.equal(again.ledgerSecrets.length, 2, "replay learned it first");
  const { discarded } = await reopened.replayer.finish(reopened.ledger);
  assert.equal(discarded, 2);
  assert.equal(again.ledgerSecrets.length, 1, "then forgot it with the suffix");
  await reopened.ledger.close();
});

test("shares follow the members and the threshold; a rekey trigger is acted on by the service", async () => {
  const keys = memberKeys();
  const { engine, identity } = await setup(keys.slice(0, 2), 2);
  const { SecretsService } = await import("../../../src/node/secrets-service.ts");
  const { createLogger } = await import("../../../src/node/logger.ts");
  const service = new SecretsService(engine, createLogger("error"));
  const wrapped = () => wrappedSecret.in(engine.store.beginTx()).get(WRAPPED_SECRET_KEY);
  await service.tick();
  assert.deepEqual([wrapped()?.threshold, wrapped()?.members.length], [2, 2]);
  const third = keys[2] as (typeof keys)[number];
  await engine.execute(
    (tx) =>
      memberInfo.in(tx).put(third.id, {
        status: "Accepted",
        encryption_public_key: third.publicKey.export({ type: "spki", format: "pem" }) as string,
      }),
    { reservedWrites: true },
  );
  await service.tick();
  assert.deepEqual(
    wrapped()?.members,
    keys.map((k) => k.id),
    "a new participant gets a share",
  );
  assert.ok(await shareOf(engine, third));
  await engine.execute((tx) => recoveryConfig.in(tx).put(RECOVERY_CONFIG_KEY, { threshold: 3 }), {
    reservedWrites: true,
  });
  await service.tick();
  assert.equal(wrapped()?.threshold, 3);
  const before = engine.lastSeqno;
  await service.tick();
  assert.equal(engine.lastSeqno, before, "nothing to do: nothing written");
  await engine.execute((tx) => serviceTriggers.in(tx).put("ledger_rekey", { proposal_id: "p" }), {
    reservedWrites: true,
  });
  const versions = identity.ledgerSecrets.length;
  await service.tick();
  assert.equal(identity.ledgerSecrets.length, versions + 1);
  assert.equal(wrapped()?.version, currentLedgerSecret(identity).version, "shares wrap the new secret");
  await engine.close();
  await engine.ledger.close();
});
