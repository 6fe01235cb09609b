/**
 * `isolation: "process"`: the same `Sandbox` interface, with the isolate in a child process
 * (child.ts). Costlier per call (pipe round trips), but an out-of-memory abort inside V8 — which
 * isolated-vm cannot always turn into an error (laverdet/isolated-vm#527) — kills only the child.
 * The parent keeps a hard deadline of its own (the child's limit plus `graceMs`) and kills a child
 * that overruns it. After any child death the next request starts a new child and reloads modules.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { closeSync, constants, existsSync, mkdtempSync, openSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { assert } from "../util/assert.ts";
import { CoterieError, type ErrorCode, errorCodes } from "../util/errors.ts";
import type { HostBridge } from "./bridge.ts";
import type { SandboxLimits } from "./limits.ts";
import { PipeClosed, PipeDeadline, readFrame, sleepMs, writeFrame } from "./pipe.ts";
import type { ChildReply, ParentRequest } from "./wire.ts";
import { frameLimits } from "./wire.ts";

/** Extra time the parent allows beyond the child's own limit before it kills the child. */
export const graceMs = 1000;
const startTimeoutMs = 10_000;
// The bundled package ships child.js beside the bundle (tools/build-dist.ts); a source checkout
// runs child.ts (Node does not strip types under node_modules, so the package cannot).
const childPath = [join(import.meta.dirname, "child.js"), join(import.meta.dirname, "child.ts")].find((p) =>
  existsSync(p),
) as string;

type Child = { process: ChildProcess; requestFd: number; replyFd: number };

function openRequestPipe(path: string, child: ChildProcess): number {
  const deadlineMs = performance.now() + startTimeoutMs;
  for (;;) {
    try {
      return openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
    } catch (error) {
      if ((error as { code?: unknown }).code !== "ENXIO") throw error;
      if (performance.now() > deadlineMs || child.exitCode !== null) {
        child.kill("SIGKILL");
        throw new CoterieError("COTERIE_ERR_INTERNAL", "the sandbox process did not start", { cause: error });
      }
      sleepMs(2);
    }
  }
}

/** Starts a child and connects to it: the reply pipe first (so its end-of-file means death). */
export function startChild(limits: Readonly<SandboxLimits>): Child {
  const dir = mkdtempSync(join(tmpdir(), "coterie-sandbox-"));
  try {
    const requestPath = join(dir, "request");
    const replyPath = join(dir, "reply");
    execFileSync("mkfifo", ["-m", "600", requestPath, replyPath]);
    const replyFd = openSync(replyPath, constants.O_RDONLY | constants.O_NONBLOCK);
    const args = ["--no-node-snapshot", childPath, requestPath, replyPath, JSON.stringify(limits)];
    const child = spawn(process.execPath, args, { stdio: ["ignore", "inherit", "inherit"] });
    child.unref();
    return { process: child, requestFd: openRequestPipe(requestPath, child), replyFd };
  } finally {
    rmSync(dir, { recursive: true, force: true }); // open pipes outlive their names
  }
}

export function stopChild(child: Child): void {
  for (const fd of [child.requestFd, child.replyFd]) {
    try {
      closeSync(fd);
    } catch {
      // already closed
    }
  }
  child.process.kill("SIGKILL");
}

/** Why a request produced no reply. */
export type ExchangeFailure = "died" | "overran";

/**
 * Sends one request and waits for its reply, serving the child's host calls on the way with
 * `bridge`. Returns the reply, or the failure kind after which the child must be replaced.
 */
export function exchange(
  child: Child,
  limits: Readonly<SandboxLimits>,
  request: ParentRequest,
  deadlineMs: number,
  bridge: HostBridge | undefined,
): ChildReply | ExchangeFailure {
  const frames = frameLimits(limits);
  try {
    writeFrame(child.requestFd, request, deadlineMs);
    for (;;) {
      const reply = readFrame(child.replyFd, frames, deadlineMs) as ChildReply;
      if (reply.op !== "host") return reply;
      assert(bridge !== undefined, "host calls come only during a call");
      const faultBefore = bridge.hostFault;
      const answer = bridge.invoke(reply.name, reply.argsJson);
      const fault = faultBefore === undefined && bridge.hostFault !== undefined;
      writeFrame(
        child.requestFd,
        { op: "hostReply", reply: answer, fault } satisfies ParentRequest,
        deadlineMs,
      );
    }
  } catch (error) {
    if (error instanceof PipeDeadline) return "overran";
    if (error instanceof PipeClosed || (error as { code?: unknown }).code === "EPIPE") return "died";
    throw error;
  }
}

/** The CoterieError a child's `fail` reply describes (not for hostError / hostFault replies). */
export function childError(reply: Extract<ChildReply, { op: "fail" }>): CoterieError {
  const error = reply.error;
  if (error === undefined || !Object.hasOwn(errorCodes, error.code)) {
    return new CoterieError("COTERIE_ERR_INTERNAL", "the sandbox process failed", { details: error });
  }
  return new CoterieError(error.code as ErrorCode, error.message, { details: error.details });
}
