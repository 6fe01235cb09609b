/**
 * The last step of disaster recovery: with the previous secrets back, the final private state of
 * the old ledger is written again in bounded transactions (encrypted under the new secret), the
 * identity is re-sealed with the recovered secrets (a restart replays the old entries with them),
 * and one transaction chains the old latest secret under the new one and marks recovery done.
 */
import type { WriteSet } from "../kv/index.ts";
import type { LedgerSecret } from "../ledger/entry.ts";
import {
  historicalSecrets,
  RECOVERY_STATE_KEY,
  type RecoveryState,
  recoveryState,
  snapshotEvidence,
} from "../tables/secrets.ts";
import { assert } from "../util/assert.ts";
import { CoterieError } from "../util/errors.ts";
import type { Engine } from "./engine.ts";
import { finalPrivateState, type RecoverySnapshot, recoverLedgerSecrets } from "./recovery.ts";
import { historicalLabel } from "./secrets.ts";
import { wrapUnder } from "./secrets-crypto.ts";

/** Splits a write set into pieces of at most `bytesMax` (keys + values) each. */
export function* batches(writes: WriteSet, bytesMax: number): Generator<WriteSet> {
  let batch: WriteSet = [];
  let bytes = 0;
  for (const m of writes) {
    for (const w of m.writes) {
      const size = w.key.length + (w.value?.length ?? 0) + m.name.length + 16;
      if (bytes + size > bytesMax && bytes > 0) {
        yield batch;
        batch = [];
        bytes = 0;
      }
      const last = batch.at(-1);
      if (last?.name === m.name) last.writes.push(w);
      else batch.push({ name: m.name, writes: [w] });
      bytes += size;
    }
  }
  if (bytes > 0) yield batch;
}

export async function restorePrivateState(
  engine: Engine,
  shares: Uint8Array[],
  options: {
    writeSetBytesMax: number;
    persist: () => Promise<void>;
    /** The bytes of the committed snapshot at `seqno` this node started from (snapshot-files.ts). */
    readSnapshot: (seqno: number) => Buffer;
  },
): Promise<{ secrets: number; records: number }> {
  const state = recoveryState.in(engine.store.beginTx()).get(RECOVERY_STATE_KEY);
  if (state?.status !== "AwaitingShares")
    throw new CoterieError("COTERIE_ERR_RECOVERY_NOT_RECOVERING", "no recovery is waiting for shares");
  const secrets = await recoverLedgerSecrets(engine.store.beginTx(), shares);
  const ours = engine.identity.ledgerSecrets;
  const current = ours[0] as LedgerSecret;
  assert((secrets.at(-1) as LedgerSecret).version < current.version, "recovered secrets precede the new one");
  ours.unshift(...secrets);
  const writes = finalPrivateState(
    engine,
    secrets,
    state.previous_last_seqno,
    baseSnapshot(engine, state, options),
  );
  let records = 0;
  for (const batch of batches(writes, Math.floor(options.writeSetBytesMax / 2))) {
    await engine.execute(
      (tx) => {
        for (const m of batch) for (const w of m.writes) tx.put(m.name, w.key, w.value as Uint8Array);
      },
      { reservedWrites: true },
    );
    for (const m of batch) records += m.writes.length;
  }
  await options.persist();
  const oldLatest = secrets.at(-1) as LedgerSecret;
  engine.appendInternal((tx, s) => {
    historicalSecrets.in(tx).put(String(oldLatest.version), {
      version: oldLatest.version,
      next_version: current.version,
      encrypted: wrapUnder(current.key, oldLatest.key, historicalLabel(oldLatest.version)),
    });
    recoveryState
      .in(tx)
      .put(RECOVERY_STATE_KEY, { ...state, status: "Restored", restored_at: `${engine.view}.${s}` });
  });
  engine.appendSignature();
  return { secrets: secrets.length, records };
}

function baseSnapshot(
  engine: Engine,
  state: RecoveryState,
  options: { readSnapshot: (seqno: number) => Buffer },
): RecoverySnapshot | null {
  const seqno = state.previous_snapshot_seqno;
  if (seqno === undefined) return null;
  const evidence = snapshotEvidence.in(engine.store.beginTx()).get(String(seqno));
  if (evidence === undefined)
    throw new CoterieError(
      "COTERIE_ERR_RECOVERY_FAILED",
      `the ledger records no evidence for snapshot ${seqno}`,
    );
  return { bytes: options.readSnapshot(seqno), seqno, digest: evidence.digest };
}
