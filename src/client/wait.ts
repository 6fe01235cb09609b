/**
 * Transaction status and waiting for commit: `GET /app/tx?transaction_id=` polled with backoff
 * until the status is final, under a deadline and an AbortSignal.
 */
import { abortedError, type Backoff, backoffDelayMs, sleep } from "./backoff.ts";
import { CoterieClientError } from "./errors.ts";

export type TxStatus = "Unknown" | "Pending" | "Committed" | "Invalid";
export type TxStatusResult = { transactionId: string; status: TxStatus };

export type WaitForCommitOptions = {
  /** Give up after this long with COTERIE_ERR_CLIENT_TIMEOUT; default 30 000. */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Polling backoff; default 20 ms doubling to 500 ms. */
  poll?: Backoff;
};

export const WAIT_TIMEOUT_MS_DEFAULT = 30_000;
export const WAIT_POLL_DEFAULT: Backoff = { initialDelayMs: 20, delayMsMax: 500 };
/** A bound on polls whatever the timeout, so a zero delay cannot spin forever. */
const POLLS_MAX = 100_000;
const TX_ID = /^\d{1,15}\.\d{1,15}$/;
const STATUSES = new Set<string>(["Unknown", "Pending", "Committed", "Invalid"]);

export function checkTxId(txId: unknown): string {
  if (typeof txId !== "string") throw new TypeError("transaction id must be a string");
  if (!TX_ID.test(txId)) throw new RangeError(`transaction id must be <view>.<seqno>, not ${txId}`);
  return txId;
}

export function parseTxStatus(value: unknown): TxStatusResult {
  const v = value as { transaction_id?: unknown; status?: unknown } | null;
  if (typeof v?.transaction_id !== "string" || typeof v.status !== "string" || !STATUSES.has(v.status)) {
    throw new CoterieClientError(
      "COTERIE_ERR_CLIENT_BAD_RESPONSE",
      "/app/tx answered without a known status",
    );
  }
  return { transactionId: v.transaction_id, status: v.status as TxStatus };
}

/**
 * Polls `getStatus` until `txId` is Committed (resolves) or Invalid (throws COTERIE_ERR_TX_INVALIDATED).
 * Unknown and Pending keep waiting: a backup may not have heard of a fresh transaction yet.
 */
export async function pollForCommit(
  txId: string,
  getStatus: (txId: string, signal: AbortSignal | undefined) => Promise<TxStatusResult>,
  options: WaitForCommitOptions = {},
): Promise<TxStatusResult> {
  checkTxId(txId);
  const timeoutMs = options.timeoutMs ?? WAIT_TIMEOUT_MS_DEFAULT;
  if (!(timeoutMs >= 0)) throw new RangeError("timeoutMs must be >= 0");
  const deadline = Date.now() + timeoutMs;
  const { signal } = options;
  let last: TxStatusResult = { transactionId: txId, status: "Unknown" };
  for (let poll = 0; poll < POLLS_MAX; poll++) {
    if (signal?.aborted) throw abortedError(signal, txId);
    last = await getStatus(txId, signal);
    if (last.status === "Committed") return last;
    if (last.status === "Invalid") {
      throw new CoterieClientError(
        "COTERIE_ERR_TX_INVALIDATED",
        `transaction ${txId} was rolled back; submit it again`,
        {
          status: 200,
          details: { transaction_id: txId, status: last.status },
          transactionId: txId,
        },
      );
    }
    const delayMs = backoffDelayMs(options.poll ?? WAIT_POLL_DEFAULT, poll);
    if (Date.now() + delayMs > deadline) break;
    await sleep(delayMs, signal);
  }
  throw new CoterieClientError(
    "COTERIE_ERR_CLIENT_TIMEOUT",
    `transaction ${txId} was still ${last.status} after ${timeoutMs} ms; it may still commit`,
    { details: { transaction_id: txId, status: last.status }, transactionId: txId },
  );
}
