import type { SandboxLimitsShape } from "./types.ts";

const MiB = 1024 * 1024;

/**
 * Every resource a sandbox may use has a maximum. Sizes are UTF-8 bytes of JSON text.
 * - `memoryBytesMax`: heap of the isolate (all its modules together); rounded up to whole MiB,
 *   at least 8 MiB (isolated-vm's minimum). Exceeding it disposes the isolate.
 * - `callTimeoutMs` / `loadTimeoutMs`: wall time of one call / of a module's top-level code,
 *   including time spent in host functions.
 * - `sourceBytesMax`: size of one module's source.
 * - `argsBytesMax` / `resultBytesMax`: JSON of a call's arguments / of its result.
 * - `hostCallBytesMax`: JSON of the arguments, and of the result, of one host function call.
 * - `modulesMax`: modules loaded at once in one sandbox.
 */
export type SandboxLimits = SandboxLimitsShape;

export const sandboxLimitsDefault: Readonly<SandboxLimits> = Object.freeze({
  memoryBytesMax: 64 * MiB,
  callTimeoutMs: 1000,
  loadTimeoutMs: 1000,
  sourceBytesMax: 2 * MiB,
  argsBytesMax: 1 * MiB,
  resultBytesMax: 1 * MiB,
  hostCallBytesMax: 1 * MiB,
  modulesMax: 16,
});

const ranges: Readonly<Record<keyof SandboxLimits, readonly [number, number]>> = {
  memoryBytesMax: [8 * MiB, 4096 * MiB],
  callTimeoutMs: [1, 60_000],
  loadTimeoutMs: [1, 60_000],
  sourceBytesMax: [1, 256 * MiB],
  argsBytesMax: [1, 256 * MiB],
  resultBytesMax: [1, 256 * MiB],
  hostCallBytesMax: [1, 256 * MiB],
  modulesMax: [1, 1024],
};

/**
 * Fills defaults and rejects nonsense once, at configuration time: `TypeError` for a non-integer,
 * `RangeError` for a value out of range or a payload limit that could not fit in the heap.
 */
export function validateSandboxLimits(input: Partial<SandboxLimits> = {}): Readonly<SandboxLimits> {
  const limits = { ...sandboxLimitsDefault, ...input };
  for (const key of Object.keys(ranges) as (keyof SandboxLimits)[]) {
    const value = limits[key];
    const [low, high] = ranges[key];
    if (!Number.isSafeInteger(value)) throw new TypeError(`sandbox limit ${key} must be an integer`);
    if (value < low || value > high)
      throw new RangeError(`sandbox limit ${key} must be in [${low}, ${high}]`);
  }
  for (const key of ["sourceBytesMax", "argsBytesMax", "resultBytesMax", "hostCallBytesMax"] as const) {
    if (limits[key] > limits.memoryBytesMax / 4) {
      throw new RangeError(`sandbox limit ${key} must be at most memoryBytesMax / 4`);
    }
  }
  return Object.freeze(limits);
}
