/**
 * V8 heap settings for a process that runs a node, each applied unless the operator chose a value
 * for it (on the command line or in NODE_OPTIONS), which wins.
 *
 * - `--heap-growing-percent=150`. With its defaults on a machine with a few GiB or more, V8 lets
 *   the old generation grow to 4× what survived the last full collection (plus the young
 *   generation's size) before collecting again: a node's live heap grows with the records it
 *   holds, while the garbage each write leaves in the old generation (objects that outlive a few
 *   hundred milliseconds of requests, retained versions and the conflict log) does not, so at a
 *   million small records most of the resident size was garbage waiting for that collection
 *   (docs/performance.md, "Memory"). A factor of 2.5 cuts that headroom by half for no measurable
 *   CPU per write (measured alternated against V8's default, same document).
 * - `--no-allocation-site-pretenuring`. V8 allocates objects straight into the old generation
 *   from code whose objects have mostly survived young-generation collections. Under a steady
 *   load of requests that lasts: objects a request makes there die with the request but stay in
 *   the old generation until the next full collection, and the young objects they point to are
 *   kept alive by them, survive, and are promoted in turn. A three-node primary at three quarters
 *   of its saturation promoted 15–27 MB/s instead of 3–6 in about half of the runs, for as long as
 *   the process lived, and spent about three times as long in young-generation pauses
 *   (docs/performance.md, "Young garbage kept alive").
 */
import { setFlagsFromString } from "node:v8";

/** The old generation grows by this percentage of the live heap between full collections. */
export const HEAP_GROWING_PERCENT = 150;

/** The settings, each with the pattern that recognises an operator's own choice of it. */
const NODE_HEAP_FLAGS: ReadonlyArray<{ flag: string; chosen: RegExp }> = [
  { flag: `--heap-growing-percent=${HEAP_GROWING_PERCENT}`, chosen: /^--heap[-_]growing[-_]percent\b/ },
  {
    flag: "--no-allocation-site-pretenuring",
    chosen: /^--(no[-_])?allocation[-_]site[-_]pretenuring\b/,
  },
];

/**
 * Applies the node's heap settings that the operator did not choose, and returns them. Call it
 * once, before the node starts; it changes V8 for the whole process.
 */
export function tuneHeapForNode(
  execArgv: readonly string[] = process.execArgv,
  nodeOptions: string = process.env.NODE_OPTIONS ?? "",
): string[] {
  const args = [...execArgv, ...nodeOptions.split(/\s+/)];
  const applied = NODE_HEAP_FLAGS.filter(({ chosen }) => !args.some((arg) => chosen.test(arg))).map(
    ({ flag }) => flag,
  );
  for (const flag of applied) setFlagsFromString(flag);
  return applied;
}
