/**
 * `createSandbox`: one isolate with limits, recreated transparently after a limit failure, and the
 * modules loaded into it (one context each). Calls are synchronous and not re-entrant: a host
 * function may call into another sandbox, never into its own.
 */
import { assert } from "../util/assert.ts";
import { CoterieError } from "../util/errors.ts";
import { exceedsBytes, HostBridge } from "./bridge.ts";
import * as engine from "./engine.ts";
import { type SandboxLimits, validateSandboxLimits } from "./limits.ts";
import { ProcessSandbox } from "./process-sandbox.ts";
import { decodeReply, missingExport } from "./reply.ts";
import type {
  HostFunctions,
  JsonValue,
  LoadModuleOptions,
  Sandbox,
  SandboxExports,
  SandboxModule,
  SandboxStats,
} from "./types.ts";

/**
 * `isolation`: "in-process" (default; ~6 µs per call) runs the isolate in this process;
 * "process" runs it in a child process (slower per call) so that a V8 out-of-memory abort, which
 * isolated-vm cannot always prevent, kills only the child. See README.md, "Isolation modes".
 */
export type CreateSandboxParameters = {
  limits?: Partial<SandboxLimits>;
  isolation?: "in-process" | "process";
};

/**
 * Creates a sandbox. Limits are validated here (TypeError / RangeError on nonsense).
 * @example
 * const sandbox = createSandbox({ limits: { callTimeoutMs: 100 } });
 * const m = sandbox.loadModule("export function add(a, b) { return a + b }", "add.js");
 * m.call("add", [1, 2]); // 3
 */
export function createSandbox(parameters: CreateSandboxParameters = {}): Sandbox {
  const limits = validateSandboxLimits(parameters.limits);
  const isolation = parameters.isolation ?? "in-process";
  if (isolation === "process") return new ProcessSandbox(limits);
  if (isolation !== "in-process") throw new RangeError(`unknown sandbox isolation ${String(isolation)}`);
  return new IsolateSandbox(limits);
}

const noHost: HostFunctions = Object.freeze({});

class IsolateSandbox implements Sandbox {
  readonly limits: Readonly<SandboxLimits>;
  #engine: engine.EngineIsolate | undefined = undefined;
  /** Bumped with every new isolate; a module bound to an older generation rebinds. */
  generation = 0;
  #isolatesCreated = 0;
  #modules = new Set<LoadedModule>();
  #disposed = false;
  /** True while a call or load runs: the sandbox is not re-entrant. */
  busy = false;

  constructor(limits: Readonly<SandboxLimits>) {
    this.limits = limits;
  }

  get isDisposed(): boolean {
    return this.#disposed;
  }

  /**
   * The live isolate, creating one if there is none. The engine disposes an isolate only during a
   * run, and every run that fails goes through `failureError`, which recycles: so no per-call
   * liveness check is needed (it cost ~5% of a trivial call).
   */
  engine(): engine.EngineIsolate {
    if (this.#engine === undefined) {
      this.#engine = engine.newIsolate(this.limits);
      this.#isolatesCreated += 1;
      this.generation += 1;
    }
    return this.#engine;
  }

  /** Throws the isolate away after a failure that may have left it in any state. */
  recycle(): void {
    if (this.#engine !== undefined) engine.disposeIsolate(this.#engine);
    this.#engine = undefined;
  }

  loadModule(source: string, filename: string, options: LoadModuleOptions = {}): SandboxModule {
    this.assertUsable();
    if (typeof source !== "string" || typeof filename !== "string") {
      throw new TypeError("loadModule expects source and filename strings");
    }
    if (this.#modules.size >= this.limits.modulesMax) {
      throw new RangeError(`a sandbox holds at most ${this.limits.modulesMax} modules`);
    }
    if (exceedsBytes(source, this.limits.sourceBytesMax)) {
      throw new CoterieError(
        "COTERIE_ERR_SANDBOX_INPUT_TOO_LARGE",
        `${filename} exceeds ${this.limits.sourceBytesMax} bytes`,
        { details: { filename, sourceBytesMax: this.limits.sourceBytesMax } },
      );
    }
    const module = new LoadedModule(this, source, filename);
    for (const name of options.requiredFunctions ?? []) {
      if (module.exports[name] !== "function") {
        module.dispose();
        throw missingExport(filename, name);
      }
    }
    this.#modules.add(module);
    return module;
  }

  forget(module: LoadedModule): void {
    this.#modules.delete(module);
  }

  stats(): SandboxStats {
    return {
      isolatesCreated: this.#isolatesCreated,
      modulesLoaded: this.#modules.size,
      heapUsedBytes: this.#engine === undefined ? 0 : engine.heapUsedBytes(this.#engine),
    };
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    for (const module of this.#modules) module.dispose();
    this.recycle();
  }

  assertUsable(): void {
    assert(!this.busy, "a sandbox is not re-entrant: a host function called back into its own sandbox");
    if (this.#disposed) {
      throw new CoterieError("COTERIE_ERR_SANDBOX_DISPOSED", "the sandbox was disposed");
    }
  }
}

function timeoutError(where: string, callTimeoutMs: number): CoterieError {
  return new CoterieError("COTERIE_ERR_SANDBOX_TIMEOUT", `${where} exceeded the time limit`, {
    details: { callTimeoutMs },
  });
}

/** Turns an engine failure during a run into the CoterieError the caller sees. */
function failureError(
  sandbox: IsolateSandbox,
  bound: engine.EngineIsolate,
  error: unknown,
  where: string,
): unknown {
  const kind = engine.classifyFailure(bound, error);
  if (kind === "thrown") {
    const message = (error as Error).message.slice(0, engine.errorMessageCharsMax);
    return new CoterieError("COTERIE_ERR_SANDBOX_THROWN", `${where} threw: ${message}`, {
      details: { name: (error as Error).name, message },
    });
  }
  // A run stopped from outside may have been cut anywhere, even inside the prelude: start afresh.
  sandbox.recycle();
  if (kind === "timeout") return timeoutError(where, sandbox.limits.callTimeoutMs);
  if (kind === "memory") {
    return new CoterieError("COTERIE_ERR_SANDBOX_MEMORY", `${where} exceeded the memory limit`, {
      details: { memoryBytesMax: sandbox.limits.memoryBytesMax },
    });
  }
  return new CoterieError("COTERIE_ERR_INTERNAL", `${where} failed in the sandbox engine`, { cause: error });
}

class LoadedModule implements SandboxModule {
  readonly filename: string;
  readonly #source: string;
  readonly #sandbox: IsolateSandbox;
  readonly #bridge: HostBridge;
  #bound: { module: engine.EngineModule; generation: number } | undefined = undefined;
  #exports: SandboxExports = Object.freeze({});
  #disposed = false;

  constructor(sandbox: IsolateSandbox, source: string, filename: string) {
    this.#sandbox = sandbox;
    this.#source = source;
    this.filename = filename;
    this.#bridge = new HostBridge(sandbox.limits.hostCallBytesMax);
    this.#bind();
  }

  get exports(): SandboxExports {
    return this.#exports;
  }

  /** Loads the source into a fresh context of the current isolate. */
  #bind(): engine.EngineModule {
    const sandbox = this.#sandbox;
    const isolate = sandbox.engine();
    this.#bridge.forgetNames();
    sandbox.busy = true;
    try {
      const module = engine.bindModule(
        isolate,
        this.#source,
        this.filename,
        sandbox.limits,
        this.#bridge.invoke,
      );
      this.#bound = { module, generation: sandbox.generation };
      this.#exports = module.exports;
      return module;
    } catch (error) {
      if (error instanceof CoterieError) throw error;
      throw failureError(sandbox, isolate, error, `${this.filename} (top level)`);
    } finally {
      sandbox.busy = false;
    }
  }

  call(exportName: string, args: readonly JsonValue[], host: HostFunctions = noHost): JsonValue {
    const sandbox = this.#sandbox;
    sandbox.assertUsable();
    if (this.#disposed)
      throw new CoterieError("COTERIE_ERR_SANDBOX_DISPOSED", `${this.filename} was unloaded`);
    if (typeof exportName !== "string" || !Array.isArray(args)) {
      throw new TypeError("call expects an export name and an array of arguments");
    }
    const argsJson = JSON.stringify(args);
    if (exceedsBytes(argsJson, sandbox.limits.argsBytesMax)) {
      throw new CoterieError(
        "COTERIE_ERR_SANDBOX_INPUT_TOO_LARGE",
        `the arguments of ${exportName} exceed ${sandbox.limits.argsBytesMax} bytes`,
        { details: { filename: this.filename, exportName, argsBytesMax: sandbox.limits.argsBytesMax } },
      );
    }
    const bound = this.#current();
    const isolate = sandbox.engine();
    const { callTimeoutMs, resultBytesMax } = sandbox.limits;
    const startedMs = performance.now();
    const namesJson = this.#bridge.begin(host, startedMs + callTimeoutMs);
    sandbox.busy = true;
    let reply: string | undefined;
    let failure: unknown;
    try {
      reply = engine.invoke(bound, exportName, argsJson, namesJson, callTimeoutMs);
    } catch (error) {
      failure = error;
    } finally {
      sandbox.busy = false;
      this.#bridge.end();
    }
    const where = `${this.filename}: ${exportName}`;
    const engineError = reply === undefined ? failureError(sandbox, isolate, failure, where) : undefined;
    const fault = this.#bridge.hostFault;
    if (fault !== undefined) throw fault.error; // a host bug outranks whatever the guest did
    if (reply === undefined) throw engineError;
    // The engine misses a deadline that passes while a host function runs: check it here as well.
    if (this.#bridge.lateCall || performance.now() - startedMs > callTimeoutMs)
      throw timeoutError(where, callTimeoutMs);
    const hostError = this.#bridge.hostError;
    return decodeReply({ filename: this.filename, exportName, resultBytesMax, hostError }, reply);
  }

  /** The module bound to the current isolate, rebinding after the sandbox recreated it. */
  #current(): engine.EngineModule {
    this.#sandbox.engine(); // recreates the isolate if a failure disposed it
    const bound = this.#bound;
    if (bound !== undefined && bound.generation === this.#sandbox.generation) return bound.module;
    if (bound !== undefined) engine.releaseModule(bound.module);
    this.#bound = undefined;
    return this.#bind();
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    if (this.#bound !== undefined) engine.releaseModule(this.#bound.module);
    this.#bound = undefined;
    this.#sandbox.forget(this);
  }
}
