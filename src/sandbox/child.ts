/**
 * Entry point of a sandbox process (`isolation: "process"`): runs an in-process sandbox and serves
 * the parent's requests over two named pipes, synchronously, one at a time. If V8 aborts on an
 * out-of-memory it cannot recover from, only this process dies; the parent notices and restarts it.
 * Usage (by remote.ts only): node child.ts REQUEST_FIFO REPLY_FIFO LIMITS_JSON
 */
import { openSync } from "node:fs";
import { assert } from "../util/assert.ts";
import { CoterieError, errorCodes, isCoterieError } from "../util/errors.ts";
import type { SandboxLimits } from "./limits.ts";
import { readFrame, writeFrame } from "./pipe.ts";
import { createSandbox } from "./sandbox.ts";
import type { HostFunctions, JsonValue, SandboxModule } from "./types.ts";
import type { ChildReply, ParentRequest } from "./wire.ts";
import { frameLimits } from "./wire.ts";

const [requestPath, replyPath, limitsJson] = process.argv.slice(2);
assert(
  requestPath !== undefined && replyPath !== undefined && limitsJson !== undefined,
  "usage: child.ts REQ REPLY LIMITS",
);
const limits = JSON.parse(limitsJson) as SandboxLimits;
const frames = frameLimits(limits);
const output = openSync(replyPath, "w"); // first: the parent waits for the request pipe as the signal
const input = openSync(requestPath, "r");
const sandbox = createSandbox({ limits });
const modules = new Map<number, SandboxModule>();

/** A non-CoterieError in a parent host function: the parent holds the original and rethrows it. */
class HostFault extends Error {}
let lastHostError: unknown;

function hostProxy(name: string) {
  return (...args: JsonValue[]): JsonValue | undefined => {
    writeFrame(output, { op: "host", name, argsJson: JSON.stringify(args) } satisfies ChildReply);
    const reply = readFrame(input, frames) as ParentRequest;
    assert(reply.op === "hostReply", "the parent answers a host call before anything else");
    const tag = reply.reply[0];
    if (tag === "u") return undefined;
    if (tag === "r") return JSON.parse(reply.reply.slice(1)) as JsonValue;
    if (reply.fault) throw new HostFault("host fault");
    const { message, code } = JSON.parse(reply.reply.slice(1)) as { message: string; code?: string };
    const known = code !== undefined && Object.hasOwn(errorCodes, code);
    const error = new CoterieError(
      (known ? code : "COTERIE_ERR_SANDBOX_THROWN") as "COTERIE_ERR_SANDBOX_THROWN",
      message,
    );
    lastHostError = error;
    throw error;
  };
}

function failure(error: unknown): ChildReply {
  if (error instanceof HostFault) return { op: "fail", hostFault: true };
  if (error !== undefined && error === lastHostError) {
    const { code, message } = error as CoterieError;
    return { op: "fail", hostError: true, error: { code, message } };
  }
  if (isCoterieError(error)) {
    return { op: "fail", error: { code: error.code, message: error.message, details: error.details } };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { op: "fail", error: { code: "COTERIE_ERR_INTERNAL", message: `sandbox process: ${message}` } };
}

function handle(request: ParentRequest): ChildReply {
  lastHostError = undefined;
  switch (request.op) {
    case "load": {
      const options = { requiredFunctions: request.requiredFunctions };
      const module = sandbox.loadModule(request.source, request.filename, options);
      modules.set(request.id, module);
      return { op: "done", exports: module.exports };
    }
    case "call": {
      const module = modules.get(request.id);
      assert(module !== undefined, "the parent calls only modules it loaded");
      const host: Record<string, ReturnType<typeof hostProxy>> = {};
      for (const name of request.names) host[name] = hostProxy(name);
      return { op: "done", value: module.call(request.exportName, request.args, host as HostFunctions) };
    }
    case "unload":
      modules.get(request.id)?.dispose();
      modules.delete(request.id);
      return { op: "done" };
    default:
      throw new Error(`unexpected request ${request.op}`);
  }
}

for (;;) {
  let request: ParentRequest;
  try {
    request = readFrame(input, frames) as ParentRequest;
  } catch {
    process.exit(0); // the parent closed the pipe: it is done with us
  }
  let reply: ChildReply;
  try {
    reply = handle(request);
  } catch (error) {
    reply = failure(error);
  }
  writeFrame(output, reply);
}
