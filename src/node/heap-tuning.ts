/**
 * V8 heap settings for a process that runs a node. With its defaults on a machine with a few GiB
 * or more, V8 lets the old generation grow to 4× what survived the last full collection (plus the
 * young generation's size) before collecting again: a node's live heap grows with the records it
 * holds, while the garbage each write leaves in the old generation (objects that outlive a few
 * hundred milliseconds of requests, retained versions and the conflict log) does not, so at a
 * million small records most of the resident size was garbage waiting for that collection
 * (docs/performance.md, "Memory"). A factor of 2.5 cuts that headroom by half for no measurable
 * CPU per write (measured alternated against V8's default, same document).
 */
import { setFlagsFromString } from "node:v8";

/** The old generation grows by this percentage of the live heap between full collections. */
export const HEAP_GROWING_PERCENT = 150;

/**
 * Applies `HEAP_GROWING_PERCENT` unless the operator chose a value (`--heap-growing-percent` on
 * the command line or in NODE_OPTIONS), which wins. Returns whether it applied it. Call it once,
 * before the node starts; it changes V8 for the whole process.
 */
export function tuneHeapForNode(
  execArgv: readonly string[] = process.execArgv,
  nodeOptions: string = process.env.NODE_OPTIONS ?? "",
): boolean {
  const chosen = [...execArgv, ...nodeOptions.split(/\s+/)].some((arg) =>
    /^--heap[-_]growing[-_]percent\b/.test(arg),
  );
  if (chosen) return false;
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  return true;
}
