// Shared helpers for the kv tests.
import assert from "node:assert/strict";
import { CoterieError, type ErrorCode } from "../../../src/util/errors.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** UTF-8 bytes of `text`. */
export function b(text: string): Uint8Array {
  return encoder.encode(text);
}

/** `bytes` decoded as UTF-8 (undefined stays undefined). */
export function s(bytes: Uint8Array | undefined): string | undefined {
  return bytes === undefined ? undefined : decoder.decode(bytes);
}

/** Asserts that `fn` throws a `CoterieError` with `code`. */
export function assertCode(fn: () => unknown, code: ErrorCode): void {
  assert.throws(fn, (error: unknown) => error instanceof CoterieError && error.code === code);
}

/** mulberry32: a tiny seeded PRNG so that one seed reproduces one run. */
export function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A 4-byte big-endian key, so numeric order is byte order. */
export function k32(n: number): Uint8Array {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, n);
  return bytes;
}
