/**
 * HTTP plumbing shared by every route: reading a body under a limit, JSON parsing with the right
 * errors, writing JSON responses and the one error shape `{"error":{"code","message"}}`. Only
 * `CoterieError`s reach the client with their message; anything else becomes COTERIE_ERR_INTERNAL
 * with an opaque error id that is logged beside the real cause.
 */
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { CoterieError, isCoterieError } from "../util/errors.ts";
import type { Logger } from "./logger.ts";

const EMPTY = Buffer.alloc(0);

/**
 * The parts of a request target that routing and handlers use. `searchParams` is made on first
 * read: a `URLSearchParams` costs about a microsecond to construct (Node marks each one for
 * structured cloning), and most requests never read it; `param` reads one parameter of a simple
 * query without making it.
 */
export class RequestTarget {
  readonly pathname: string;
  /** The query after `?`, undecoded ("" when there is none). */
  readonly search: string;
  private params: URLSearchParams | null;
  /** The query is of unreserved characters, `=` and `&` only: its decoding is the identity. */
  private readonly plain: boolean;

  constructor(pathname: string, search: string, params: URLSearchParams | null) {
    this.pathname = pathname;
    this.search = search;
    this.params = params;
    this.plain = params === null && !PERCENT_OR_PLUS.test(search);
  }

  get searchParams(): URLSearchParams {
    this.params ??= new URLSearchParams(this.search);
    return this.params;
  }

  /** `searchParams.get(name)`, read from a plain query without parsing all of it. */
  param(name: string): string | null {
    if (!this.plain) return this.searchParams.get(name);
    const q = this.search;
    let start = 0;
    while (start <= q.length) {
      let end = q.indexOf("&", start);
      if (end < 0) end = q.length;
      if (end > start) {
        const eq = q.indexOf("=", start);
        const nameEnd = eq < 0 || eq > end ? end : eq;
        if (nameEnd - start === name.length && q.startsWith(name, start)) {
          return nameEnd === end ? "" : q.slice(nameEnd + 1, end);
        }
      }
      start = end + 1;
    }
    return null;
  }
}

/**
 * Targets whose WHATWG parse is the identity: an origin-form path of unreserved characters with no
 * `.`/`..` segment, no `//` at the start (that would name a host), and an optional query of
 * unreserved characters, `=`, `&`, `+` and `%` escapes (decoded by URLSearchParams either way).
 */
const SIMPLE_TARGET = /^\/(?!\/)[A-Za-z0-9\-._~/]*(?:\?[A-Za-z0-9\-._~=&+%]*)?$/;
const DOT_SEGMENT = /\/\.\.?(?:[/?]|$)/;
const PERCENT_OR_PLUS = /[%+]/;

/**
 * Parses a request target as `new URL(target, "https://node")` would: simple targets (every request
 * of the apps and the benchmarks) by splitting at `?`, anything else by the WHATWG parser. A unit
 * test checks that both give the same pathname and parameters.
 */
export function parseRequestTarget(target: string): RequestTarget {
  if (!SIMPLE_TARGET.test(target) || DOT_SEGMENT.test(target)) {
    const url = new URL(target, "https://node");
    return new RequestTarget(url.pathname, url.search.slice(1), url.searchParams);
  }
  const q = target.indexOf("?");
  if (q < 0) return new RequestTarget(target, "", null);
  return new RequestTarget(target.slice(0, q), target.slice(q + 1), null);
}

/** Reads the request body, refusing (413) as soon as it exceeds `bytesMax`. */
export function readBody(req: IncomingMessage, bytesMax: number): Promise<Buffer> {
  const declared = req.headers["content-length"];
  if (declared !== undefined && Number(declared) > bytesMax) {
    return Promise.reject(tooLarge(bytesMax));
  }
  if (declared === "0" || (declared === undefined && req.headers["transfer-encoding"] === undefined)) {
    return Promise.resolve(EMPTY);
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    req.on("data", (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > bytesMax) {
        req.removeAllListeners("data");
        req.resume();
        reject(tooLarge(bytesMax));
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

function tooLarge(bytesMax: number): CoterieError {
  return new CoterieError("COTERIE_ERR_BODY_TOO_LARGE", `request body exceeds ${bytesMax} bytes`, {
    details: { bytes_max: bytesMax },
  });
}

/** Parses a JSON body, requiring `application/json` (with optional parameters). */
export function parseJsonBody(contentType: string | undefined, body: Uint8Array): unknown {
  // Nearly every client sends exactly this; anything else is parsed.
  const type =
    contentType === "application/json" ? contentType : contentType?.split(";")[0]?.trim().toLowerCase();
  if (type !== "application/json") {
    throw new CoterieError("COTERIE_ERR_UNSUPPORTED_CONTENT_TYPE", "expected content-type application/json");
  }
  try {
    return JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString("utf8"));
  } catch {
    throw new CoterieError("COTERIE_ERR_INVALID_JSON", "request body is not valid JSON");
  }
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers?: Record<string, string>,
): void {
  sendJsonText(res, status, JSON.stringify(body), headers);
}

/** Sends `text`, which the caller made as JSON, as `application/json` (UTF-8). */
export function sendJsonText(
  res: ServerResponse,
  status: number,
  text: string,
  headers?: Record<string, string>,
): void {
  const bytes = Buffer.byteLength(text);
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": bytes,
    ...headers,
  });
  // One byte per char means ASCII (any other char takes two to four in UTF-8), whose latin1
  // bytes are its UTF-8: sent as latin1, the socket copies it without an encoder and the write
  // batch (write-batch.ts) counts it without scanning it again. A commit answer is ~2 KB.
  res.end(text, bytes === text.length ? "latin1" : "utf8");
}

/** Writes a handler body: JSON for values, text/plain for strings, octet-stream for bytes. */
export function sendBody(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string>,
): void {
  if (body === undefined) {
    res.writeHead(status, { "content-length": 0, ...headers });
    res.end();
  } else if (typeof body === "string") {
    res.writeHead(status, {
      "content-type": "text/plain; charset=utf-8",
      "content-length": Buffer.byteLength(body),
      ...headers,
    });
    res.end(body);
  } else if (body instanceof Uint8Array) {
    res.writeHead(status, {
      "content-type": "application/octet-stream",
      "content-length": body.length,
      ...headers,
    });
    res.end(body);
  } else sendJson(res, status, body, headers);
}

/** Sends `error` in the client error shape; returns the status sent. */
export function sendError(
  res: ServerResponse,
  error: unknown,
  log: Logger,
  headers?: Record<string, string>,
): number {
  if (res.headersSent) {
    res.destroy();
    return 500;
  }
  if (isCoterieError(error)) {
    sendJson(res, error.status, error.toJSON(), headers);
    return error.status;
  }
  const errorId = randomUUID();
  log.error("request failed", {
    error_id: errorId,
    error: error instanceof Error ? error.stack : String(error),
  });
  sendJson(res, 500, {
    error: { code: "COTERIE_ERR_INTERNAL", message: "internal error", error_id: errorId },
  });
  return 500;
}

/** Parses `view.seqno`. */
export function parseTxId(text: string | null): { view: number; seqno: number } {
  const m = text === null ? null : /^(\d{1,15})\.(\d{1,15})$/.exec(text);
  if (m === null) {
    throw new CoterieError("COTERIE_ERR_TX_INVALID_ID", "transaction_id must be of the form <view>.<seqno>");
  }
  const view = Number(m[1]);
  const seqno = Number(m[2]);
  if (view < 1 || seqno < 1) throw new CoterieError("COTERIE_ERR_TX_INVALID_ID", "view and seqno start at 1");
  return { view, seqno };
}
