/** A value that survives `JSON.stringify` → `JSON.parse` unchanged: all that crosses the boundary. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/**
 * A synchronous host callback the guest reaches as `host.<name>(...args)`. Arguments and result
 * cross as JSON (bytes as base64 text). Returning `undefined` gives the guest `undefined`.
 *
 * Errors: a thrown `CoterieError` reaches the guest as an `Error` with the same `message` and a
 * `code` property; if the guest does not catch it, `call` rethrows the original object on the host.
 * Any other thrown value is a host bug: the guest sees only "host.<name> failed", and `call`
 * rethrows the original after the guest returns, whether or not the guest caught it.
 */
export type HostFunction = (...args: JsonValue[]) => JsonValue | undefined;

/** The host functions offered to one call, by name. Only own properties are visible to the guest. */
export type HostFunctions = Readonly<Record<string, HostFunction>>;

/** What a module exports, by name: the `typeof` of each export ("function", "object", ...). */
export type SandboxExports = Readonly<Record<string, string>>;

/** Counters for tests and metrics. */
export type SandboxStats = {
  /** Isolates created so far; grows by one each time a failure forced a fresh isolate. */
  isolatesCreated: number;
  /** Modules currently loaded. */
  modulesLoaded: number;
  /** Heap in use by the current isolate, or 0 when none is alive. */
  heapUsedBytes: number;
};

/**
 * One loaded ES module. It survives isolate recreation: after a limit failure the sandbox reloads
 * the module from its source in a fresh isolate before the next call, so module-level state is
 * not durable — keep state in the host (the KV store), never in module variables.
 */
export interface SandboxModule {
  readonly filename: string;
  readonly exports: SandboxExports;
  /**
   * Calls `exportName(...args)` synchronously under the sandbox's limits and returns its result
   * as JSON (`undefined` becomes `null`). Throws `CoterieError` with a COTERIE_ERR_SANDBOX_* code
   * on every guest failure; the module stays usable afterwards.
   */
  call(exportName: string, args: readonly JsonValue[], host?: HostFunctions): JsonValue;
  /** Releases the module's context. Later calls throw COTERIE_ERR_SANDBOX_DISPOSED. */
  dispose(): void;
}

/** One isolate (recreated transparently after limit failures) and the modules loaded into it. */
export interface Sandbox {
  readonly limits: Readonly<SandboxLimitsShape>;
  readonly isDisposed: boolean;
  /**
   * Loads a self-contained ES module (no imports; esbuild `format: "esm"`, `bundle: true`) into a
   * fresh context of this sandbox's isolate and runs its top-level code under `loadTimeoutMs`.
   * `requiredFunctions` are checked at load (COTERIE_ERR_SANDBOX_MISSING_EXPORT).
   */
  loadModule(source: string, filename: string, options?: LoadModuleOptions): SandboxModule;
  stats(): SandboxStats;
  /** Disposes the isolate and every module. Idempotent. */
  dispose(): void;
}

export type LoadModuleOptions = { requiredFunctions?: readonly string[] };

/** Structural copy of `SandboxLimits` (limits.ts) so this file has no imports. */
export type SandboxLimitsShape = {
  memoryBytesMax: number;
  callTimeoutMs: number;
  loadTimeoutMs: number;
  sourceBytesMax: number;
  argsBytesMax: number;
  resultBytesMax: number;
  hostCallBytesMax: number;
  modulesMax: number;
};
