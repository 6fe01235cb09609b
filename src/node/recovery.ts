/**
 * Disaster recovery on the node (docs/operations.md, "Disaster recovery"). A node started in
 * recover mode on a previous service's ledger has replayed only its public part. `beginRecovery`
 * writes the new service identity, with an endorsement of the previous one in
 * `previous_identities`, retires the old nodes and records that shares are awaited. Once members
 * have opened the service by vote and `threshold` of them have submitted their decrypted shares,
 * `restorePrivateState` rebuilds the wrapping key, unwraps the latest ledger secret, walks back
 * through every earlier one, and writes the final private state of the old ledger anew. When the
 * surviving ledger starts after a snapshot (or recovery started from one), the private maps at the
 * snapshot's seqno come from its private section, checked against the digest the ledger recorded.
 */
import { X509Certificate } from "node:crypto";
import { combineShares } from "../crypto/shamir.ts";
import { endorseCertificate } from "../crypto/x509.ts";
import { isPublicMapName, type Tx, type WriteSet } from "../kv/index.ts";
import { decodeEntry, type LedgerSecret, privateWritesOf } from "../ledger/entry.ts";
import { decodeSnapshot, snapshotDigest, snapshotHeader } from "../ledger/snapshot.ts";
import { nodeInfo } from "../tables/identities.ts";
import {
  historicalSecrets,
  RECOVERY_STATE_KEY,
  recoveryState,
  WRAPPED_SECRET_KEY,
  wrappedSecret,
} from "../tables/secrets.ts";
import { SERVICE_INFO_KEY, serviceInfo } from "../tables/service.ts";
import { assert } from "../util/assert.ts";
import { CoterieError } from "../util/errors.ts";
import type { Engine } from "./engine.ts";
import type { Identity } from "./identity.ts";
import { wrappedLabel } from "./recovery-shares.ts";
import { historicalLabel } from "./secrets.ts";
import { unwrapUnder } from "./secrets-crypto.ts";

/** Endorsements of previous identities are valid this long (receipts are verified long after). */
const ENDORSEMENT_VALIDITY_DAYS = 3650;
/** Rekeys walked back through; a bound on the loop, far above any real history. */
export const HISTORICAL_SECRETS_MAX = 1_000_000;

export function recoveryPending(tx: Tx): boolean {
  return recoveryState.in(tx).get(RECOVERY_STATE_KEY)?.status === "AwaitingShares";
}

/** The recovery transaction: new identity endorsing the old one, old nodes retired, this one trusted. */
export async function beginRecovery(
  engine: Engine,
  identity: Identity,
  rpcAddress: string,
  snapshotSeqno: number | null,
): Promise<number> {
  const previous = serviceInfo.in(engine.store.beginTx()).get(SERVICE_INFO_KEY);
  if (previous === undefined)
    throw new CoterieError("COTERIE_ERR_LEDGER_CORRUPT", "the ledger has no service record to recover");
  const endorsement = await endorseCertificate(
    { publicKey: new X509Certificate(previous.cert).publicKey },
    identity.service,
    identity.serviceCert,
    { subject: "CN=Coterie previous service", validityDays: ENDORSEMENT_VALIDITY_DAYS },
  );
  const previousLast = engine.lastSeqno;
  const seqno = engine.appendInternal((tx, s) => {
    serviceInfo.in(tx).put(SERVICE_INFO_KEY, {
      cert: identity.serviceCert,
      status: "Recovering",
      created_at: `${engine.view}.${s}`,
      previous_identities: [...(previous.previous_identities ?? []), endorsement],
    });
    const nodes = nodeInfo.in(tx);
    const retire: string[] = [];
    // biome-ignore lint/suspicious/useIterableCallbackReturn: forEach stops when the callback returns false
    nodes.forEach((id, info) => {
      if (info.status !== "Retired") retire.push(id);
      return true;
    });
    for (const id of retire)
      nodes.put(id, { ...(nodes.get(id) as NonNullable<ReturnType<typeof nodes.get>>), status: "Retired" });
    nodes.put(identity.nodeId, {
      cert: identity.nodeCert,
      status: "Trusted",
      rpc_address: rpcAddress,
      platform: "virtual",
    });
    recoveryState.in(tx).put(RECOVERY_STATE_KEY, {
      status: "AwaitingShares",
      previous_last_seqno: previousLast,
      previous_service_cert: previous.cert,
      ...(snapshotSeqno === null ? {} : { previous_snapshot_seqno: snapshotSeqno }),
    });
  });
  engine.appendSignature();
  return seqno;
}

/** The previous service's ledger secrets, oldest first, from the wrapping key the shares rebuild. */
export async function recoverLedgerSecrets(tx: Tx, shares: Uint8Array[]): Promise<LedgerSecret[]> {
  const wrapped = wrappedSecret.in(tx).get(WRAPPED_SECRET_KEY);
  if (wrapped === undefined)
    throw new CoterieError("COTERIE_ERR_RECOVERY_FAILED", "the ledger holds no wrapped ledger secret");
  const wrappingKey = await combineShares(shares);
  const latest = unwrapUnder(wrappingKey, wrapped.encrypted, wrappedLabel(wrapped.version));
  if (latest === null)
    throw new CoterieError("COTERIE_ERR_RECOVERY_FAILED", "the shares do not unwrap the ledger secret");
  const byNext = new Map<number, { version: number; encrypted: string }>();
  // biome-ignore lint/suspicious/useIterableCallbackReturn: forEach stops when the callback returns false
  historicalSecrets.in(tx).forEach((_, h) => {
    byNext.set(h.next_version, h);
    return byNext.size < HISTORICAL_SECRETS_MAX;
  });
  const secrets: LedgerSecret[] = [{ version: wrapped.version, key: latest }];
  for (let h = byNext.get(wrapped.version); h !== undefined; h = byNext.get(h.version)) {
    const key = unwrapUnder((secrets[0] as LedgerSecret).key, h.encrypted, historicalLabel(h.version));
    if (key === null)
      throw new CoterieError("COTERIE_ERR_RECOVERY_FAILED", `historical secret ${h.version} does not unwrap`);
    secrets.unshift({ version: h.version, key });
    assert(secrets.length <= HISTORICAL_SECRETS_MAX, "history is bounded");
  }
  return secrets;
}

/** A snapshot of the previous ledger to restore from: its bytes and the digest its evidence recorded. */
export type RecoverySnapshot = { bytes: Buffer; seqno: number; digest: string };

/**
 * The last value of every private key written in seqnos 1..last, decrypted with `secrets`: the
 * private maps of `base` (the state at its seqno) overlaid with the entries after it, or every
 * entry from seqno 1 without one.
 */
export function finalPrivateState(
  engine: Engine,
  secrets: LedgerSecret[],
  last: number,
  base: RecoverySnapshot | null = null,
): WriteSet {
  const maps = new Map<string, Map<string, Uint8Array | null>>();
  const put = (name: string, key: Uint8Array, value: Uint8Array | null) => {
    const map = maps.get(name) ?? new Map<string, Uint8Array | null>();
    maps.set(name, map);
    map.set(Buffer.from(key).toString("latin1"), value);
  };
  const secretOf = (version: number) => {
    const secret = secrets.find((s) => s.version === version);
    if (secret === undefined)
      throw new CoterieError("COTERIE_ERR_RECOVERY_FAILED", `no secret version ${version}`);
    return secret;
  };
  if (base !== null) {
    if (snapshotDigest(base.bytes) !== base.digest)
      throw new CoterieError(
        "COTERIE_ERR_RECOVERY_FAILED",
        `snapshot ${base.seqno} does not match the digest recorded in the ledger`,
      );
    const { secretVersion } = snapshotHeader(base.bytes);
    const contents = decodeSnapshot(base.bytes, secretVersion === 0 ? null : secretOf(secretVersion));
    for (const m of contents.maps) {
      if (isPublicMapName(m.name)) continue;
      for (const e of m.entries) put(m.name, e.key, e.value);
    }
  }
  for (let seqno = (base?.seqno ?? 0) + 1; seqno <= last; seqno++) {
    const entry = decodeEntry(engine.ledger.files.read(seqno));
    if (entry.header.privateBytes === 0) continue;
    for (const m of privateWritesOf(entry, secretOf(entry.header.secretVersion)))
      for (const w of m.writes) put(m.name, w.key, w.value);
  }
  return [...maps].map(([name, map]) => ({
    name,
    writes: [...map]
      .filter(([, v]) => v !== null)
      .map(([k, value]) => ({ key: Buffer.from(k, "latin1"), value })),
  }));
}
