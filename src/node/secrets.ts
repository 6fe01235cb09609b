/**
 * Ledger secrets over time (docs/operations.md, "Rekey"). A secret's version is the first seqno it
 * encrypts. A rekey is one transaction at seqno s, appended synchronously, that writes:
 * - the new secret (version s + 1) encrypted to every trusted node's identity key
 *   (`secrets.nodes`), which is how nodes — this one after a restart, backups as they apply the
 *   entry — learn it; so the node never has to re-seal anything, and a rekey that is rolled back
 *   (unsigned suffix) is simply never learned;
 * - the previous secret encrypted under the new one (`historical_secrets`), so whoever holds the
 *   latest secret can walk back through every earlier one;
 * - fresh recovery shares wrapping the new secret (recovery-shares.ts);
 * - the deletion of the governance trigger it answers.
 * Every entry after s uses the new secret; entries up to s keep the one their header names.
 */
import { randomBytes, X509Certificate } from "node:crypto";
import { curveOf } from "../crypto/keys.ts";
import type { Tx, WriteSet } from "../kv/index.ts";
import type { LedgerSecret } from "../ledger/entry.ts";
import { serviceTriggers } from "../tables/governance.ts";
import { nodeInfo } from "../tables/identities.ts";
import { historicalSecrets, type NodeLedgerSecret, nodeLedgerSecrets } from "../tables/secrets.ts";
import { assert } from "../util/assert.ts";
import type { Engine } from "./engine.ts";
import { currentLedgerSecret, type Identity } from "./identity.ts";
import { type PreparedShares, prepareShares, writeShares } from "./recovery-shares.ts";
import { openSealed, sealTo, wrapUnder } from "./secrets-crypto.ts";

export const NODE_SECRET_LABEL = "coterie ledger secret for node";
export const historicalLabel = (version: number) => `coterie historical secret ${version}`;
/** Attempts to issue shares while the recovery members keep changing under us. */
const PREPARE_ATTEMPTS_MAX = 3;

/** Shares for the current participants, prepared asynchronously and checked still valid now. */
async function preparedFor(engine: Engine, latest: LedgerSecret): Promise<PreparedShares | null | undefined> {
  for (let attempt = 0; attempt < PREPARE_ATTEMPTS_MAX; attempt++) {
    const prepared = await prepareShares(engine.store.beginTx());
    // A throwaway transaction: does the plan still match, with nothing awaited since?
    if (writeShares(engine.store.beginTx({ reservedWrites: true }), prepared, latest)) return prepared;
  }
  return undefined;
}

function sealForNodes(tx: Tx, identity: Identity, key: Uint8Array, version: number): void {
  const table = nodeLedgerSecrets.in(tx);
  const put = (id: string, cert: string) => {
    const sealed = sealTo(new X509Certificate(cert).publicKey, key, NODE_SECRET_LABEL);
    const record: NodeLedgerSecret = {
      version,
      encrypted: sealed.encrypted,
      ephemeral_public_key: sealed.ephemeral_public_key as string,
    };
    table.put(id, record);
  };
  put(identity.nodeId, identity.nodeCert);
  // biome-ignore lint/suspicious/useIterableCallbackReturn: forEach stops when the callback returns false
  nodeInfo.in(tx).forEach((id, info) => {
    if (info.status === "Trusted" && id !== identity.nodeId) put(id, info.cert);
    return true;
  });
}

/**
 * Switches new entries to a fresh ledger secret. Returns the rekey transaction's seqno, or null
 * when the recovery members kept changing (the caller tries again later).
 */
export async function rekey(engine: Engine): Promise<number | null> {
  const key = randomBytes(32);
  // The new version is only known at append time; shares wrap the key, whatever its version.
  const probe = { version: engine.store.version + 2, key };
  const prepared = await preparedFor(engine, probe);
  if (prepared === undefined) return null;
  // Synchronous from here: nothing else is appended or rekeyed until the new secret is in place.
  const previous = currentLedgerSecret(engine.identity);
  const seqno = engine.appendInternal((tx, s) => {
    const version = s + 1;
    sealForNodes(tx, engine.identity, key, version);
    historicalSecrets.in(tx).put(String(previous.version), {
      version: previous.version,
      next_version: version,
      encrypted: wrapUnder(key, previous.key, historicalLabel(previous.version)),
    });
    assert(writeShares(tx, prepared, { version, key }), "recovery members unchanged since prepared");
    serviceTriggers.in(tx).delete("ledger_rekey");
  });
  engine.identity.ledgerSecrets.push({ version: seqno + 1, key });
  return seqno;
}

/** Reissues the recovery shares for the current secret (members or threshold changed). */
export async function reissueShares(engine: Engine): Promise<number | null> {
  const latest = currentLedgerSecret(engine.identity);
  const prepared = await preparedFor(engine, latest);
  if (prepared === undefined || currentLedgerSecret(engine.identity) !== latest) return null;
  return engine.appendInternal((tx) => {
    assert(writeShares(tx, prepared, latest), "recovery members unchanged since prepared");
  });
}

/**
 * Learns the secret a rekey at `seqno` sealed to this node, from that entry's public write set.
 * Called for every entry a node applies without executing it (replay, and backups). Idempotent.
 */
export function learnLedgerSecret(
  identity: Identity,
  seqno: number,
  publicWrites: WriteSet,
): LedgerSecret | null {
  const map = publicWrites.find((m) => m.name === nodeLedgerSecrets.name);
  if (map === undefined) return null;
  const mine = map.writes.find((w) => Buffer.from(w.key).toString("utf8") === identity.nodeId);
  if (mine?.value === undefined || mine.value === null) return null;
  const record = JSON.parse(Buffer.from(mine.value).toString("utf8")) as NodeLedgerSecret;
  assert(record.version === seqno + 1, "a rekey at s introduces version s + 1");
  const held = identity.ledgerSecrets.find((s) => s.version === record.version);
  if (held !== undefined) return held;
  const key = openSealed(
    identity.node.privateKey,
    {
      // The record does not name it: the curve is this node's key's (P-384 or P-256).
      algorithm: curveOf(identity.node.privateKey) === "P-256" ? "ECIES-P256" : "ECIES-P384",
      encrypted: record.encrypted,
      ephemeral_public_key: record.ephemeral_public_key,
    },
    NODE_SECRET_LABEL,
  );
  const secret = { version: record.version, key };
  assert(
    (identity.ledgerSecrets.at(-1)?.version ?? -1) < secret.version,
    "secrets are learned in version order",
  );
  identity.ledgerSecrets.push(secret);
  return secret;
}
