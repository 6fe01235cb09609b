/** Messages between a parent and its sandbox process (remote.ts ↔ child.ts), one JSON frame each. */
import type { SandboxLimits } from "./limits.ts";
import type { JsonValue } from "./types.ts";

export type ParentRequest =
  | { op: "load"; id: number; source: string; filename: string; requiredFunctions: readonly string[] }
  | { op: "call"; id: number; exportName: string; args: readonly JsonValue[]; names: readonly string[] }
  | { op: "unload"; id: number }
  /** Answer to a `host` reply: the tagged string of HostBridge.invoke; `fault` for a host bug. */
  | { op: "hostReply"; reply: string; fault: boolean };

export type ChildReply =
  | { op: "done"; exports?: Readonly<Record<string, string>>; value?: JsonValue }
  | { op: "host"; name: string; argsJson: string }
  | {
      op: "fail";
      error?: { code: string; message: string; details?: unknown };
      /** The call ended by an uncaught CoterieError of a parent host function. */
      hostError?: true;
      /** A parent host function threw a non-CoterieError. */
      hostFault?: true;
    };

/** Every frame fits: the largest payload limit, six times over (JSON escapes a control character as \\u00XX), plus an envelope. */
export function frameLimits(limits: Readonly<SandboxLimits>): { frameBytesMax: number } {
  const payloadMax = Math.max(
    limits.sourceBytesMax,
    limits.argsBytesMax,
    limits.resultBytesMax,
    limits.hostCallBytesMax,
  );
  return { frameBytesMax: 6 * payloadMax + 64 * 1024 };
}
