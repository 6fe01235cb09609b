/**
 * The host side of `host.<name>(...)` for one module: which host functions the current call
 * offers, and what went wrong in them. Replies to the guest are tagged strings:
 * `u` (undefined), `r<json>` (result), `e<json {message, code?}>` (failure, thrown in the guest).
 */
import { Buffer } from "node:buffer";
import { isCoterieError } from "../util/errors.ts";
import type { HostFunctions, JsonValue } from "./types.ts";

/** UTF-8 length of `text` without encoding it when the UTF-16 length already settles the question. */
export function exceedsBytes(text: string, bytesMax: number): boolean {
  if (text.length > bytesMax) return true; // UTF-8 never takes fewer bytes than UTF-16 code units
  if (text.length * 3 <= bytesMax) return false; // nor more than three per code unit
  return Buffer.byteLength(text, "utf8") > bytesMax;
}

function failure(message: string, code?: string): string {
  return "e" + JSON.stringify(code === undefined ? { message } : { message, code });
}

function parseArgs(json: string): JsonValue[] | undefined {
  try {
    const args: unknown = JSON.parse(json);
    return Array.isArray(args) ? (args as JsonValue[]) : undefined;
  } catch {
    return undefined;
  }
}

export class HostBridge {
  readonly #hostCallBytesMax: number;
  #host: HostFunctions | undefined = undefined;
  /** Names last sent to the guest, joined; the guest keeps them until told otherwise. */
  #namesKey: string | undefined = undefined;
  /** The last CoterieError a host function threw during the current call. */
  hostError: unknown = undefined;
  /** A non-CoterieError thrown by a host function: a host bug, rethrown after the call. */
  hostFault: { error: unknown } | undefined = undefined;
  /** `performance.now()` after which host calls are refused and the call counts as timed out. */
  #deadlineMs = 0;
  /** A host call arrived after the deadline. */
  lateCall = false;

  constructor(hostCallBytesMax: number) {
    this.#hostCallBytesMax = hostCallBytesMax;
  }

  /** The guest lost its copy of the names (fresh context). */
  forgetNames(): void {
    this.#namesKey = undefined;
  }

  /** Starts a call; returns the JSON list of names to send when it changed since the last call. */
  begin(host: HostFunctions, deadlineMs: number): string | undefined {
    this.#host = host;
    this.#deadlineMs = deadlineMs;
    this.hostError = undefined;
    this.hostFault = undefined;
    this.lateCall = false;
    const names = Object.keys(host);
    const key = names.join("\u0000");
    if (key === this.#namesKey) return undefined;
    this.#namesKey = key;
    return JSON.stringify(names);
  }

  end(): void {
    this.#host = undefined;
  }

  /** Called by the guest, synchronously, while a call runs. Never throws into the engine. */
  readonly invoke = (name: unknown, argsJson: unknown): string => {
    const host = this.#host;
    if (host === undefined) return failure("host functions are only available during a call");
    if (typeof name !== "string" || typeof argsJson !== "string") return failure("malformed host call");
    // The engine's timer cannot stop the guest while the host runs, so the host keeps the clock too.
    if (performance.now() > this.#deadlineMs) {
      this.lateCall = true;
      return failure("the call exceeded its time limit");
    }
    const fn = Object.hasOwn(host, name) ? host[name] : undefined;
    if (typeof fn !== "function") return failure(`host.${name} is not a host function`);
    if (exceedsBytes(argsJson, this.#hostCallBytesMax)) {
      return failure(`host.${name}: arguments exceed ${this.#hostCallBytesMax} bytes`);
    }
    const args = parseArgs(argsJson);
    if (args === undefined) return failure("malformed host call");
    let result: JsonValue | undefined;
    try {
      result = fn(...args);
    } catch (error) {
      if (isCoterieError(error)) {
        this.hostError = error;
        return failure(error.message, error.code);
      }
      this.hostFault ??= { error };
      return failure(`host.${name} failed`);
    }
    return this.#reply(name, result);
  };

  #reply(name: string, result: JsonValue | undefined): string {
    if (result === undefined) return "u";
    let json: string | undefined;
    try {
      json = JSON.stringify(result);
    } catch (error) {
      this.hostFault ??= { error };
      return failure(`host.${name} failed`);
    }
    if (json === undefined) return "u";
    if (exceedsBytes(json, this.#hostCallBytesMax)) {
      return failure(`host.${name}: result exceeds ${this.#hostCallBytesMax} bytes`);
    }
    return "r" + json;
  }
}
