/**
 * Shamir secret sharing for recovery shares, browser-safe: a thin wrapper over the audited
 * `shamir-secret-sharing` package (GF(2^8), one byte of x-coordinate appended to each share).
 *
 * The wrapper adds what the package leaves out: threshold 1 (a one-member consortium still needs
 * a recovery share; the polynomial is then the constant secret), explicit limits, and a stable
 * error code for bad shares, which arrive from members over the network.
 *
 * Combining fewer shares than the threshold yields a wrong secret, not an error: Shamir shares carry
 * no threshold. Callers authenticate the result (the recovered key must decrypt what it wraps).
 */
import { combine, split } from "shamir-secret-sharing";
import { CoterieError } from "../util/errors.ts";

/** Shares and threshold are at most 255: x-coordinates are the non-zero bytes. */
export const SHARES_MAX = 255;
/** Upper bound on a secret; recovery splits a 32-byte wrapping key. */
export const SECRET_BYTES_MAX = 4096;

/**
 * Splits `secret` into `shares` shares, any `threshold` of which recombine it. Each share is
 * `secret.length + 1` bytes (the last byte is its x-coordinate).
 *
 * @example
 *   const parts = await splitSecret(wrappingKey, 5, 3);   // any 3 of 5 members recover
 * @throws TypeError / RangeError on bad arguments (1 ≤ threshold ≤ shares ≤ 255, 1 ≤ secret bytes ≤ 4096)
 */
export async function splitSecret(
  secret: Uint8Array,
  shares: number,
  threshold: number,
): Promise<Uint8Array[]> {
  if (!(secret instanceof Uint8Array)) throw new TypeError("secret must be a Uint8Array");
  if (secret.length < 1 || secret.length > SECRET_BYTES_MAX) {
    throw new RangeError(`secret must be 1..${SECRET_BYTES_MAX} bytes, got ${secret.length}`);
  }
  if (!Number.isInteger(shares) || shares < 1 || shares > SHARES_MAX) {
    throw new RangeError(`shares must be an integer in 1..${SHARES_MAX}, got ${shares}`);
  }
  if (!Number.isInteger(threshold) || threshold < 1 || threshold > shares) {
    throw new RangeError(`threshold must be an integer in 1..shares (${shares}), got ${threshold}`);
  }
  // The package asks for a plain Uint8Array (not a Buffer subclass) and at least two shares.
  const plain = new Uint8Array(secret);
  if (threshold === 1) return Array.from({ length: shares }, (_, i) => withX(plain, i + 1));
  return split(plain, shares, threshold);
}

/**
 * Recombines shares made by `splitSecret`. Needs at least `threshold` of them (see the file comment).
 * @throws CoterieError COTERIE_ERR_SHAMIR_INVALID_SHARES when shares are malformed, of different
 *   lengths, share an x-coordinate, or are none at all.
 */
export async function combineShares(shares: readonly Uint8Array[]): Promise<Uint8Array> {
  const invalid = (why: string): never => {
    throw new CoterieError("COTERIE_ERR_SHAMIR_INVALID_SHARES", why);
  };
  if (!Array.isArray(shares) || shares.length < 1 || shares.length > SHARES_MAX) {
    invalid(`give 1..${SHARES_MAX} shares`);
  }
  const shareBytes = shares[0]?.length ?? 0;
  const xs = new Set<number>();
  for (const share of shares) {
    if (!(share instanceof Uint8Array)) invalid("each share must be bytes");
    if (share.length < 2 || share.length > SECRET_BYTES_MAX + 1) invalid("a share has an impossible length");
    if (share.length !== shareBytes) invalid("shares have different lengths");
    const x = share[share.length - 1]!;
    if (x === 0) invalid("a share has x-coordinate 0");
    if (xs.has(x)) invalid("two shares have the same x-coordinate");
    xs.add(x);
  }
  if (shares.length === 1) return new Uint8Array(shares[0]!.subarray(0, shareBytes - 1));
  return combine(shares.map((s) => new Uint8Array(s)));
}

function withX(secret: Uint8Array, x: number): Uint8Array {
  const share = new Uint8Array(secret.length + 1);
  share.set(secret);
  share[secret.length] = x;
  return share;
}
