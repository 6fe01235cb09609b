/**
 * The `Sandbox` of `isolation: "process"`: modules live in a child process (see remote.ts).
 * Same contract as the in-process sandbox, with two differences: a child death (a V8 abort) is
 * reported as COTERIE_ERR_SANDBOX_MEMORY, and `stats().isolatesCreated` counts child processes.
 */
import { assert } from "../util/assert.ts";
import { CoterieError } from "../util/errors.ts";
import { exceedsBytes, HostBridge } from "./bridge.ts";
import type { SandboxLimits } from "./limits.ts";
import { childError, type ExchangeFailure, exchange, graceMs, startChild, stopChild } from "./remote.ts";
import type {
  HostFunctions,
  JsonValue,
  LoadModuleOptions,
  Sandbox,
  SandboxExports,
  SandboxModule,
  SandboxStats,
} from "./types.ts";
import type { ChildReply } from "./wire.ts";

const noHost: HostFunctions = Object.freeze({});

function lostChild(kind: ExchangeFailure, where: string, limits: Readonly<SandboxLimits>): CoterieError {
  if (kind === "overran") {
    return new CoterieError("COTERIE_ERR_SANDBOX_TIMEOUT", `${where} exceeded the time limit`, {
      details: { callTimeoutMs: limits.callTimeoutMs },
    });
  }
  return new CoterieError(
    "COTERIE_ERR_SANDBOX_MEMORY",
    `${where} exceeded the memory limit (the sandbox process died)`,
    {
      details: { memoryBytesMax: limits.memoryBytesMax },
    },
  );
}

export class ProcessSandbox implements Sandbox {
  readonly limits: Readonly<SandboxLimits>;
  #child: ReturnType<typeof startChild> | undefined = undefined;
  generation = 0;
  #childrenStarted = 0;
  #nextId = 1;
  #modules = new Set<RemoteModule>();
  #disposed = false;
  busy = false;

  constructor(limits: Readonly<SandboxLimits>) {
    this.limits = limits;
  }

  get isDisposed(): boolean {
    return this.#disposed;
  }

  child(): ReturnType<typeof startChild> {
    if (this.#child === undefined) {
      this.#child = startChild(this.limits);
      this.#childrenStarted += 1;
      this.generation += 1;
    }
    return this.#child;
  }

  currentChild(): ReturnType<typeof startChild> | undefined {
    return this.#child;
  }

  replaceChild(): void {
    if (this.#child !== undefined) stopChild(this.#child);
    this.#child = undefined;
  }

  nextId(): number {
    return this.#nextId++;
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
        {
          details: { filename, sourceBytesMax: this.limits.sourceBytesMax },
        },
      );
    }
    const module = new RemoteModule(this, source, filename, options.requiredFunctions ?? []);
    this.#modules.add(module);
    return module;
  }

  forget(module: RemoteModule): void {
    this.#modules.delete(module);
  }

  stats(): SandboxStats {
    return { isolatesCreated: this.#childrenStarted, modulesLoaded: this.#modules.size, heapUsedBytes: 0 };
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#modules.clear();
    this.replaceChild();
  }

  assertUsable(): void {
    assert(!this.busy, "a sandbox is not re-entrant: a host function called back into its own sandbox");
    if (this.#disposed) throw new CoterieError("COTERIE_ERR_SANDBOX_DISPOSED", "the sandbox was disposed");
  }
}

class RemoteModule implements SandboxModule {
  readonly filename: string;
  readonly #source: string;
  readonly #requiredFunctions: readonly string[];
  readonly #sandbox: ProcessSandbox;
  readonly #bridge: HostBridge;
  #id = 0;
  #generation = -1;
  #exports: SandboxExports = Object.freeze({});
  #disposed = false;

  constructor(
    sandbox: ProcessSandbox,
    source: string,
    filename: string,
    requiredFunctions: readonly string[],
  ) {
    this.#sandbox = sandbox;
    this.#source = source;
    this.filename = filename;
    this.#requiredFunctions = [...requiredFunctions];
    this.#bridge = new HostBridge(sandbox.limits.hostCallBytesMax);
    this.#load();
  }

  get exports(): SandboxExports {
    return this.#exports;
  }

  #load(): void {
    const sandbox = this.#sandbox;
    const child = sandbox.child();
    const id = sandbox.nextId();
    const request = {
      op: "load",
      id,
      source: this.#source,
      filename: this.filename,
      requiredFunctions: this.#requiredFunctions,
    } as const;
    const reply = exchange(
      child,
      sandbox.limits,
      request,
      performance.now() + sandbox.limits.loadTimeoutMs + graceMs,
      undefined,
    );
    if (typeof reply === "string") {
      sandbox.replaceChild();
      throw lostChild(reply, `${this.filename} (top level)`, sandbox.limits);
    }
    if (reply.op === "fail") throw childError(reply);
    assert(reply.op === "done" && reply.exports !== undefined, "a load answers with the exports");
    this.#id = id;
    this.#generation = sandbox.generation;
    this.#exports = Object.freeze({ ...reply.exports });
  }

  call(exportName: string, args: readonly JsonValue[], host: HostFunctions = noHost): JsonValue {
    const sandbox = this.#sandbox;
    sandbox.assertUsable();
    if (this.#disposed)
      throw new CoterieError("COTERIE_ERR_SANDBOX_DISPOSED", `${this.filename} was unloaded`);
    if (typeof exportName !== "string" || !Array.isArray(args)) {
      throw new TypeError("call expects an export name and an array of arguments");
    }
    const { argsBytesMax, callTimeoutMs } = sandbox.limits;
    if (exceedsBytes(JSON.stringify(args), argsBytesMax)) {
      throw new CoterieError(
        "COTERIE_ERR_SANDBOX_INPUT_TOO_LARGE",
        `the arguments of ${exportName} exceed ${argsBytesMax} bytes`,
        {
          details: { filename: this.filename, exportName, argsBytesMax },
        },
      );
    }
    const child = sandbox.child();
    if (this.#generation !== sandbox.generation) this.#load();
    const startedMs = performance.now();
    this.#bridge.begin(host, startedMs + callTimeoutMs);
    const request = { op: "call", id: this.#id, exportName, args, names: Object.keys(host) } as const;
    sandbox.busy = true;
    let reply: ChildReply | ExchangeFailure;
    try {
      reply = exchange(child, sandbox.limits, request, startedMs + callTimeoutMs + graceMs, this.#bridge);
    } finally {
      sandbox.busy = false;
      this.#bridge.end();
    }
    return this.#finish(reply, exportName, startedMs);
  }

  #finish(reply: ChildReply | ExchangeFailure, exportName: string, startedMs: number): JsonValue {
    const sandbox = this.#sandbox;
    const where = `${this.filename}: ${exportName}`;
    if (typeof reply === "string") sandbox.replaceChild();
    const fault = this.#bridge.hostFault;
    if (fault !== undefined) throw fault.error; // a host bug outranks whatever the guest did
    if (typeof reply === "string") throw lostChild(reply, where, sandbox.limits);
    if (reply.op === "fail") {
      if (reply.hostError && this.#bridge.hostError !== undefined) throw this.#bridge.hostError;
      throw childError(reply);
    }
    assert(reply.op === "done", "a call answers done or fail");
    if (this.#bridge.lateCall || performance.now() - startedMs > sandbox.limits.callTimeoutMs) {
      throw lostChild("overran", where, sandbox.limits);
    }
    return reply.value ?? null;
  }

  /** Unloads the module from the child if the child that loaded it is still alive. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    const sandbox = this.#sandbox;
    sandbox.forget(this);
    const child = sandbox.currentChild();
    if (child === undefined || this.#generation !== sandbox.generation || sandbox.busy) return;
    const reply = exchange(
      child,
      sandbox.limits,
      { op: "unload", id: this.#id },
      performance.now() + graceMs,
      undefined,
    );
    if (typeof reply === "string") sandbox.replaceChild();
  }
}
