/**
 * Ledger secrets, recovery shares, snapshot evidence and recovery records (docs/ledger-format.md,
 * "Ledger secrets and recovery"). All public maps: everything secret in them is encrypted, to a node
 * key, a member key, the next ledger secret, or the recovery wrapping key.
 */
import { defineTable, json, utf8 } from "../kv/index.ts";

/**
 * Written by a rekey transaction at seqno s: the new ledger secret (version s + 1) encrypted to
 * each trusted node's identity key (ECIES, src/node/secrets-crypto.ts). Key: node id.
 */
export type NodeLedgerSecret = { version: number; ephemeral_public_key: string; encrypted: string };
export const nodeLedgerSecrets = defineTable(
  "public:coterie.internal.secrets.nodes",
  utf8,
  json<NodeLedgerSecret>(),
);

/**
 * Key: the previous secret's version (decimal). `encrypted` = base64(nonce ‖ AES-256-GCM(next secret,
 * nonce, previous secret, aad = "coterie historical secret " ‖ decimal version)).
 */
export type HistoricalSecret = { version: number; next_version: number; encrypted: string };
export const historicalSecrets = defineTable(
  "public:coterie.internal.historical_secrets",
  utf8,
  json<HistoricalSecret>(),
);

export const WRAPPED_SECRET_KEY = "latest";
/**
 * The latest ledger secret wrapped under the recovery wrapping key (which exists only as shares).
 * `encrypted` = base64(nonce ‖ AES-256-GCM(wrapping key, nonce, secret, aad = "coterie wrapped secret "
 * ‖ decimal version)). `threshold` and `members` say which shares open it.
 */
export type WrappedSecret = {
  version: number;
  encrypted: string;
  threshold: number;
  members: string[];
};
export const wrappedSecret = defineTable(
  "public:coterie.internal.recovery.wrapped_secret",
  utf8,
  json<WrappedSecret>(),
);

/**
 * Key: member id. The member's Shamir share of the wrapping key, encrypted to its
 * `encryption_public_key`; `share_digest` = hex SHA-256("coterie share " ‖ member id ‖ share), so a
 * wrong share is refused on arrival without being counted.
 */
export type RecoveryShare = {
  version: number;
  algorithm: "RSA-OAEP-256" | "ECIES-P256" | "ECIES-P384";
  encrypted_share: string;
  ephemeral_public_key?: string;
  share_digest: string;
};
export const recoveryShares = defineTable(
  "public:coterie.internal.recovery.shares",
  utf8,
  json<RecoveryShare>(),
);

export const RECOVERY_STATE_KEY = "state";
/** Written by a recovering node: where the previous service's ledger ended, and progress. */
export type RecoveryState = {
  status: "AwaitingShares" | "Restored";
  previous_last_seqno: number;
  previous_service_cert: string;
  /** The previous ledger's snapshot recovery started from: its private maps are restored from it. */
  previous_snapshot_seqno?: number;
  restored_at?: string;
};
export const recoveryState = defineTable(
  "public:coterie.internal.recovery.state",
  utf8,
  json<RecoveryState>(),
);

/** Key: snapshot seqno (decimal). The digest of `snapshot_<seqno>` (docs/ledger-format.md, "Snapshots"). */
export type SnapshotEvidence = { seqno: number; digest: string; bytes: number };
export const snapshotEvidence = defineTable(
  "public:coterie.internal.snapshot_evidence",
  utf8,
  json<SnapshotEvidence>(),
);
