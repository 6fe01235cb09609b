/**
 * Recovery wrapping: the latest ledger secret is stored in the ledger wrapped under a fresh random
 * wrapping key, and the wrapping key exists only as k-of-n Shamir shares, each encrypted to one
 * member's `encryption_public_key` (docs/operations.md, "Disaster recovery"). A new wrapping key is
 * drawn every time the shares are reissued — on a rekey, a change of the recovery members or of
 * the threshold — so no node ever has to keep one.
 */
import { createHash, randomBytes } from "node:crypto";
import { splitSecret } from "../crypto/shamir.ts";
import type { Tx } from "../kv/index.ts";
import type { LedgerSecret } from "../ledger/entry.ts";
import { RECOVERY_CONFIG_KEY, recoveryConfig } from "../tables/governance.ts";
import { memberInfo } from "../tables/identities.ts";
import {
  type RecoveryShare,
  recoveryShares,
  WRAPPED_SECRET_KEY,
  type WrappedSecret,
  wrappedSecret,
} from "../tables/secrets.ts";
import { assert } from "../util/assert.ts";
import { sealTo, wrapUnder } from "./secrets-crypto.ts";

/** Recovery participants are capped like Shamir x-coordinates. */
export const RECOVERY_MEMBERS_MAX = 255;
export const SHARE_LABEL = "coterie recovery share";

export const wrappedLabel = (version: number) => `coterie wrapped secret ${version}`;

export function shareDigest(memberId: string, share: Uint8Array): string {
  return createHash("sha256").update(`coterie share ${memberId}`).update(share).digest("hex");
}

/** Who holds shares and how many are needed: members with an encryption key, sorted by id. */
export function recoveryPlan(tx: Tx): { threshold: number; members: Array<[string, string]> } {
  const members: Array<[string, string]> = [];
  // biome-ignore lint/suspicious/useIterableCallbackReturn: forEach stops when the callback returns false
  memberInfo.in(tx).forEach((id, info) => {
    if (info.encryption_public_key !== undefined) members.push([id, info.encryption_public_key]);
    return members.length < RECOVERY_MEMBERS_MAX;
  });
  members.sort((a, b) => (a[0] < b[0] ? -1 : 1));
  const configured = recoveryConfig.in(tx).get(RECOVERY_CONFIG_KEY)?.threshold ?? 1;
  return { threshold: Math.max(1, Math.min(configured, members.length)), members };
}

/** Whether the recorded shares match the plan and wrap `latest` (else they must be reissued). */
export function sharesCurrent(tx: Tx, latest: LedgerSecret): boolean {
  const plan = recoveryPlan(tx);
  const w = wrappedSecret.in(tx).get(WRAPPED_SECRET_KEY);
  if (plan.members.length === 0) return w === undefined;
  return (
    w !== undefined &&
    w.version === latest.version &&
    w.threshold === plan.threshold &&
    w.members.join(",") === plan.members.map(([id]) => id).join(",")
  );
}

/** A new wrapping key and its shares sealed to each participant; the slow (async) half of issuing. */
export type PreparedShares = {
  wrappingKey: Uint8Array;
  threshold: number;
  members: Array<{ id: string; record: Omit<RecoveryShare, "version"> }>;
};

export async function prepareShares(tx: Tx): Promise<PreparedShares | null> {
  const plan = recoveryPlan(tx);
  if (plan.members.length === 0) return null;
  const wrappingKey = randomBytes(32);
  const shares = await splitSecret(wrappingKey, plan.members.length, plan.threshold);
  const members = plan.members.map(([id, pem], i) => {
    const share = shares[i] as Uint8Array;
    const sealed = sealTo(pem, share, SHARE_LABEL);
    const record: Omit<RecoveryShare, "version"> = {
      algorithm: sealed.algorithm,
      encrypted_share: sealed.encrypted,
      share_digest: shareDigest(id, share),
      ...(sealed.ephemeral_public_key === undefined
        ? {}
        : { ephemeral_public_key: sealed.ephemeral_public_key }),
    };
    return { id, record };
  });
  return { wrappingKey, threshold: plan.threshold, members };
}

/**
 * Writes the wrapped secret and the shares in `tx` (the synchronous half). Returns false, writing
 * nothing, when the participants changed since `prepared` was made (the caller prepares again).
 */
export function writeShares(tx: Tx, prepared: PreparedShares | null, latest: LedgerSecret): boolean {
  const plan = recoveryPlan(tx);
  const ids = plan.members.map(([id]) => id);
  if (prepared === null) {
    if (ids.length > 0) return false;
    wrappedSecret.in(tx).delete(WRAPPED_SECRET_KEY);
    return true;
  }
  if (prepared.threshold !== plan.threshold || prepared.members.map((m) => m.id).join(",") !== ids.join(","))
    return false;
  const record: WrappedSecret = {
    version: latest.version,
    encrypted: wrapUnder(prepared.wrappingKey, latest.key, wrappedLabel(latest.version)),
    threshold: prepared.threshold,
    members: ids,
  };
  wrappedSecret.in(tx).put(WRAPPED_SECRET_KEY, record);
  const shares = recoveryShares.in(tx);
  const stale: string[] = [];
  // biome-ignore lint/suspicious/useIterableCallbackReturn: forEach stops when the callback returns false
  shares.forEach((id) => {
    if (!ids.includes(id)) stale.push(id);
    return stale.length < RECOVERY_MEMBERS_MAX;
  });
  for (const id of stale) shares.delete(id);
  for (const m of prepared.members) shares.put(m.id, { version: latest.version, ...m.record });
  assert(record.members.length === prepared.members.length, "one share per participant");
  return true;
}
