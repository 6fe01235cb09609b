/**
 * Turns the guest dispatcher's tagged reply into a result or a CoterieError. The guest's side of
 * the protocol (prelude.ts) is untrusted, so every field is checked again here:
 * `r<json>` result · `m` missing export · `e<json {name, message}>` the guest threw ·
 * `h` a host function's CoterieError went uncaught · `x<text>` result not JSON · `l<n>` too large.
 */
import { CoterieError } from "../util/errors.ts";
import { exceedsBytes } from "./bridge.ts";
import type { JsonValue } from "./types.ts";

export type ReplyContext = {
  filename: string;
  exportName: string;
  resultBytesMax: number;
  /** The CoterieError a host function threw during this call, if any. */
  hostError: unknown;
};

function thrown(ctx: ReplyContext, text: string): CoterieError {
  let name = "Error";
  let message = "(unreadable error)";
  try {
    const parsed = JSON.parse(text) as { name?: unknown; message?: unknown };
    if (typeof parsed.name === "string") name = parsed.name;
    if (typeof parsed.message === "string") message = parsed.message;
  } catch {
    // A garbled description is reported as unreadable, never trusted.
  }
  const where = `${ctx.filename}: ${ctx.exportName}`;
  const details = { filename: ctx.filename, exportName: ctx.exportName, name, message };
  if (name === "RangeError" && message === "Maximum call stack size exceeded") {
    return new CoterieError("COTERIE_ERR_SANDBOX_STACK_OVERFLOW", `${where} recursed too deeply`, {
      details,
    });
  }
  if (name === "RangeError" && message === "Array buffer allocation failed") {
    return new CoterieError("COTERIE_ERR_SANDBOX_MEMORY", `${where} exceeded the memory limit`, { details });
  }
  return new CoterieError("COTERIE_ERR_SANDBOX_THROWN", `${where} threw ${name}: ${message}`, { details });
}

function result(ctx: ReplyContext, json: string): JsonValue {
  if (exceedsBytes(json, ctx.resultBytesMax)) throw tooLarge(ctx);
  try {
    return JSON.parse(json) as JsonValue;
  } catch {
    throw invalid(ctx, "its result is not JSON");
  }
}

function tooLarge(ctx: ReplyContext): CoterieError {
  return new CoterieError(
    "COTERIE_ERR_SANDBOX_RESULT_TOO_LARGE",
    `${ctx.filename}: the result of ${ctx.exportName} exceeds ${ctx.resultBytesMax} bytes`,
    { details: { filename: ctx.filename, exportName: ctx.exportName, resultBytesMax: ctx.resultBytesMax } },
  );
}

function invalid(ctx: ReplyContext, why: string): CoterieError {
  return new CoterieError(
    "COTERIE_ERR_SANDBOX_INVALID_RESULT",
    `${ctx.filename}: ${ctx.exportName} gave no JSON result: ${why}`,
    { details: { filename: ctx.filename, exportName: ctx.exportName } },
  );
}

export function missingExport(filename: string, exportName: string): CoterieError {
  return new CoterieError(
    "COTERIE_ERR_SANDBOX_MISSING_EXPORT",
    `${filename} has no exported function ${JSON.stringify(exportName)}`,
    { details: { filename, exportName } },
  );
}

/** Returns the call's result or throws the CoterieError the reply describes. */
export function decodeReply(ctx: ReplyContext, reply: string): JsonValue {
  const body = reply.slice(1);
  switch (reply[0]) {
    case "r":
      return result(ctx, body);
    case "m":
      throw missingExport(ctx.filename, ctx.exportName);
    case "e":
      throw thrown(ctx, body);
    case "h":
      if (ctx.hostError !== undefined) throw ctx.hostError;
      throw thrown(ctx, "{}");
    case "x":
      throw invalid(ctx, body.slice(0, 1000));
    case "l":
      throw tooLarge(ctx);
    default:
      throw invalid(ctx, "unknown reply");
  }
}
