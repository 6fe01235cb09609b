/**
 * Waiting between attempts: exponential backoff with full jitter under a cap, and a sleep that an
 * AbortSignal cuts short. Used by read retries and by `waitForCommit` polling.
 */
import { CoterieClientError } from "./errors.ts";

export type Backoff = { initialDelayMs: number; delayMsMax: number };

/** The delay before attempt `attempt` (0-based): uniform in [d/2, d] with d = min(cap, initial·2^attempt). */
export function backoffDelayMs(
  backoff: Backoff,
  attempt: number,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(backoff.delayMsMax, backoff.initialDelayMs * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/** Resolves after `ms`, or rejects with COTERIE_ERR_CLIENT_ABORTED as soon as `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortedError(signal));
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortedError(signal as AbortSignal));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

export function abortedError(signal: AbortSignal, transactionId: string | null = null): CoterieClientError {
  return new CoterieClientError("COTERIE_ERR_CLIENT_ABORTED", "the call was aborted by its AbortSignal", {
    cause: signal.reason,
    transactionId,
  });
}
