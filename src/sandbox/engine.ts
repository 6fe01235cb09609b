/**
 * The only file that knows about isolated-vm. Everything else in the sandbox talks to this small
 * set of functions, so the engine can be replaced (isolated-vm is in maintenance mode) by
 * rewriting this file alone. Nothing returned from here exposes an isolated-vm object to callers
 * outside src/sandbox, and nothing passed into the guest is an isolated-vm object except the one
 * host-call callback, which the prelude keeps in a closure the guest cannot reach.
 */
import ivm from "isolated-vm";
import { assert } from "../util/assert.ts";
import { CoterieError } from "../util/errors.ts";
import type { SandboxLimits } from "./limits.ts";
import { preludeSource } from "./prelude.ts";
import type { SandboxExports } from "./types.ts";

const MiB = 1024 * 1024;

/** A guest message cut to this many characters before it leaves the isolate. */
export const errorMessageCharsMax = 1000;

export type EngineIsolate = { readonly isolate: ivm.Isolate };

/** A module bound to one context of one isolate. */
export type EngineModule = {
  readonly context: ivm.Context;
  readonly dispatch: ivm.Reference<(exportName: string, argsJson: string, namesJson?: string) => string>;
  readonly exports: SandboxExports;
};

/** Why a run stopped without a reply from the guest. */
export type EngineFailure = "timeout" | "memory" | "thrown" | "unknown";

/** The host side of `host.<name>(...)`: receives the name and JSON arguments, returns a tagged reply. */
export type HostCall = (name: unknown, argsJson: unknown) => string;

export function newIsolate(limits: Readonly<SandboxLimits>): EngineIsolate {
  // No onCatastrophicError: with a handler isolated-vm parks the thread forever after calling it;
  // without one it aborts the process, which a supervised node survives by restarting.
  return { isolate: new ivm.Isolate({ memoryLimit: Math.ceil(limits.memoryBytesMax / MiB) }) };
}

export function disposeIsolate(engine: EngineIsolate): void {
  if (!engine.isolate.isDisposed) engine.isolate.dispose();
}

export function heapUsedBytes(engine: EngineIsolate): number {
  return engine.isolate.isDisposed ? 0 : engine.isolate.getHeapStatisticsSync().used_heap_size;
}

/** Maps an error thrown by isolated-vm while running guest code to what happened. */
export function classifyFailure(engine: EngineIsolate, error: unknown): EngineFailure {
  if (engine.isolate.isDisposed) return "memory";
  if (!(error instanceof Error)) return "unknown";
  if (error.message === "Script execution timed out.") return "timeout";
  if (error.message.includes("memory limit")) return "memory";
  return "thrown";
}

const syntaxLocation = /\[(.*):(\d+):(\d+)\]$/;

function compile(engine: EngineIsolate, source: string, filename: string): ivm.Module {
  try {
    return engine.isolate.compileModuleSync(source, { filename });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const where = syntaxLocation.exec(message);
    const details = where ? { filename, line: Number(where[2]), column: Number(where[3]) } : { filename };
    throw new CoterieError("COTERIE_ERR_SANDBOX_SYNTAX", `${filename} does not compile: ${message}`, {
      details,
    });
  }
}

/**
 * Creates a context, runs the prelude, compiles, instantiates and evaluates the module. Errors:
 * COTERIE_ERR_SANDBOX_SYNTAX and _IMPORT as CoterieError; a failing top-level run is rethrown
 * raw for the caller to classify with `classifyFailure`.
 */
export function bindModule(
  engine: EngineIsolate,
  source: string,
  filename: string,
  limits: Readonly<SandboxLimits>,
  hostCall: HostCall,
): EngineModule {
  const module = compile(engine, source, filename);
  const imports = [...module.dependencySpecifiers]; // copy: the module may be released below
  if (imports.length > 0) {
    module.release();
    throw new CoterieError(
      "COTERIE_ERR_SANDBOX_IMPORT",
      `${filename} imports ${imports.join(", ")}; bundle it into one self-contained module`,
      { details: { filename, imports } },
    );
  }
  const context = engine.isolate.createContextSync();
  try {
    return runModule(engine, context, module, limits, hostCall);
  } catch (error) {
    context.release();
    throw error;
  }
}

function runModule(
  engine: EngineIsolate,
  context: ivm.Context,
  module: ivm.Module,
  limits: Readonly<SandboxLimits>,
  hostCall: HostCall,
): EngineModule {
  const timeout = limits.loadTimeoutMs;
  const guestLimits = JSON.stringify({ ...limits, errorMessageCharsMax });
  const entry = context.evalClosureSync(preludeSource, [new ivm.Callback(hostCall), guestLimits], {
    result: { reference: true },
    timeout,
    filename: "coterie:prelude",
  }) as ivm.Reference<Record<string, unknown>>;
  module.instantiateSync(context, () => {
    throw new Error("imports are not allowed");
  });
  module.evaluateSync({ timeout });
  const register = entry.getSync("register", { reference: true });
  const kinds = register.applySync(undefined, [module.namespace.derefInto()], { timeout });
  assert(typeof kinds === "string", "the prelude's register returns JSON text");
  const dispatch = entry.getSync("dispatch", { reference: true }) as EngineModule["dispatch"];
  entry.release();
  register.release();
  void engine;
  return { context, dispatch, exports: Object.freeze(JSON.parse(kinds) as Record<string, string>) };
}

/** Runs the guest's dispatcher; returns its tagged reply or throws the raw engine error. */
export function invoke(
  bound: EngineModule,
  exportName: string,
  argsJson: string,
  namesJson: string | undefined,
  timeoutMs: number,
): string {
  const reply = bound.dispatch.applySync(undefined, [exportName, argsJson, namesJson], {
    timeout: timeoutMs,
  });
  assert(typeof reply === "string" && reply.length > 0, "the prelude's dispatch returns a tagged string");
  return reply;
}

export function releaseModule(bound: EngineModule): void {
  try {
    bound.dispatch.release();
    bound.context.release();
  } catch {
    // Already gone with a disposed isolate: nothing left to release.
  }
}
