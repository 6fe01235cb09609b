/**
 * Invariant assertions. They stay on in production: a violated invariant means the process state is
 * no longer trustworthy, so we crash rather than continue (TigerBeetle's rule). Use them for what
 * must be true on both sides of a boundary; use `CoterieError` for bad input from outside.
 */
export class InvariantError extends Error {
  override name = "InvariantError";
}

/**
 * Throws `InvariantError` when `condition` is false. `message` names the broken invariant; one that
 * shows values is a function, called only on failure: a template literal is built on every call
 * (about 25 ns and a string of garbage each; many asserts run per write).
 */
export function assert(condition: unknown, message: string | (() => string)): asserts condition {
  if (!condition) throw new InvariantError(typeof message === "string" ? message : message());
}

/** Marks a branch the type system proves unreachable (exhaustive switches). */
export function unreachable(value: never, what: string): never {
  throw new InvariantError(`unreachable ${what}: ${String(value)}`);
}
