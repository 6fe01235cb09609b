// Recovery shares: round trips for every subset size, threshold 1, and bad input.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { combineShares, SHARES_MAX, splitSecret } from "../../../src/crypto/shamir.ts";

const secret = new Uint8Array(Array.from({ length: 32 }, (_, i) => (i * 37 + 11) & 0xff));
const eq = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));

describe("splitSecret / combineShares", () => {
  test("any threshold-sized subset recovers; one share fewer does not", async () => {
    for (const [n, t] of [
      [2, 2],
      [3, 2],
      [5, 3],
      [7, 7],
      [10, 4],
    ] as const) {
      const shares = await splitSecret(secret, n, t);
      assert.equal(shares.length, n);
      for (const s of shares) assert.equal(s.length, secret.length + 1);
      for (let start = 0; start < n; start++) {
        const subset = Array.from({ length: t }, (_, i) => shares[(start + i) % n]!);
        assert.ok(eq(await combineShares(subset), secret), `${t} of ${n} from ${start}`);
        if (t > 1)
          assert.ok(!eq(await combineShares(subset.slice(1)), secret), `${t - 1} of ${n} must not recover`);
      }
      assert.ok(eq(await combineShares(shares), secret), `all ${n}`);
    }
  });

  test("threshold 1: every single share recovers (a one-member consortium)", async () => {
    for (const n of [1, 3]) {
      const shares = await splitSecret(secret, n, 1);
      for (const s of shares) assert.ok(eq(await combineShares([s]), secret));
      if (n > 1) assert.ok(eq(await combineShares(shares), secret));
    }
  });

  test("255 shares is the maximum; a Buffer secret works", async () => {
    const shares = await splitSecret(Buffer.from(secret), SHARES_MAX, 3);
    assert.equal(new Set(shares.map((s) => s[s.length - 1])).size, 255);
    assert.ok(eq(await combineShares(shares.slice(100, 103)), secret));
  });

  test("bad split arguments are RangeError/TypeError", async () => {
    await assert.rejects(splitSecret(secret, 3, 0), RangeError);
    await assert.rejects(splitSecret(secret, 3, 4), RangeError);
    await assert.rejects(splitSecret(secret, 256, 2), RangeError);
    await assert.rejects(splitSecret(secret, 0, 1), RangeError);
    await assert.rejects(splitSecret(secret, 2.5, 2), RangeError);
    await assert.rejects(splitSecret(new Uint8Array(0), 3, 2), RangeError);
    await assert.rejects(splitSecret(new Uint8Array(4097), 3, 2), RangeError);
    await assert.rejects(splitSecret("secret" as unknown as Uint8Array, 3, 2), TypeError);
  });

  test("bad shares are COTERIE_ERR_SHAMIR_INVALID_SHARES", async () => {
    const shares = await splitSecret(secret, 3, 2);
    const code = { code: "COTERIE_ERR_SHAMIR_INVALID_SHARES" };
    await assert.rejects(combineShares([]), code);
    await assert.rejects(combineShares([shares[0]!, shares[0]!]), code);
    await assert.rejects(combineShares([shares[0]!, shares[1]!.subarray(1)]), code);
    await assert.rejects(combineShares([shares[0]!, new Uint8Array(33)]), code);
    await assert.rejects(combineShares([new Uint8Array([1])]), code);
    await assert.rejects(combineShares(["x" as unknown as Uint8Array, shares[0]!]), code);
    await assert.rejects(combineShares("shares" as unknown as Uint8Array[]), code);
  });
});
