/**
 * Sample app: log messages by id, privately (encrypted in the ledger) or publicly, read the
 * latest, and read a message's history over a range of seqnos. Callers authenticate with a user
 * certificate. Written against the app API only (no `Buffer`), so the same source also runs as a
 * governed bundle, where the sandbox has no Node globals (the benchmark suite deploys it so).
 */
import { CoterieError, defineApp, type Endpoint, type HandlerContext, utf8 } from "../../src/app/index.ts";

const MSG_BYTES_MAX = 64 * 1024;
const maps = { private: "records", public: "public:records" } as const;
type Visibility = keyof typeof maps;

function parseId(value: unknown): string {
  const text = typeof value === "number" ? String(value) : value;
  if (typeof text !== "string" || !/^\d{1,15}$/.test(text)) {
    throw new CoterieError("COTERIE_ERR_INVALID_INPUT", "id must be a non-negative integer");
  }
  return String(Number(text));
}

/**
 * Whether `text` is at most MSG_BYTES_MAX bytes of UTF-8. A message is encoded to be measured only
 * when it could be longer: a UTF-16 unit is at most 3 bytes of UTF-8 (a surrogate pair is 4 for
 * two units, a lone surrogate becomes U+FFFD's 3).
 */
function fitsMessageLimit(text: string): boolean {
  return text.length * 3 <= MSG_BYTES_MAX || utf8.encode(text).byteLength <= MSG_BYTES_MAX;
}

function parseSeqno(ctx: HandlerContext, name: string, fallback: number): number {
  const raw = ctx.request.query.get(name);
  if (raw === null) return fallback;
  if (!/^\d{1,15}$/.test(raw) || Number(raw) < 1) {
    throw new CoterieError("COTERIE_ERR_INVALID_INPUT", `${name} must be a positive integer`);
  }
  return Number(raw);
}

function write(visibility: Visibility): Endpoint {
  return {
    method: "POST",
    path: `/log/${visibility}`,
    auth: ["user_cert"],
    mode: "readwrite",
    summary: `Record a ${visibility} message under an id.`,
    handler(ctx) {
      const body = ctx.request.json() as { id?: unknown; msg?: unknown } | null;
      if (body === null || typeof body !== "object")
        throw new CoterieError("COTERIE_ERR_INVALID_INPUT", "body must be an object");
      const id = parseId(body.id);
      if (typeof body.msg !== "string" || !fitsMessageLimit(body.msg)) {
        throw new CoterieError(
          "COTERIE_ERR_INVALID_INPUT",
          `msg must be a string of at most ${MSG_BYTES_MAX} bytes`,
        );
      }
      ctx.tx.typed(maps[visibility], utf8, utf8).put(id, body.msg);
      return undefined;
    },
  };
}

function read(visibility: Visibility): Endpoint {
  return {
    method: "GET",
    path: `/log/${visibility}`,
    auth: ["user_cert"],
    mode: "readonly",
    summary: `Read the latest ${visibility} message of an id.`,
    handler(ctx) {
      const id = parseId(ctx.request.query.get("id"));
      const msg = ctx.tx.typed(maps[visibility], utf8, utf8).get(id);
      if (msg === undefined)
        throw new CoterieError("COTERIE_ERR_NOT_FOUND", `no ${visibility} message with id ${id}`);
      return { body: { id: Number(id), msg } };
    },
  };
}

function history(visibility: Visibility): Endpoint {
  return {
    method: "GET",
    path: `/log/${visibility}/history`,
    auth: ["user_cert"],
    mode: "historical",
    summary: `Every committed version of a ${visibility} message in a seqno range.`,
    handler(ctx) {
      const id = parseId(ctx.request.query.get("id"));
      const to = parseSeqno(ctx, "to_seqno", ctx.historical.committedSeqno);
      const from = parseSeqno(ctx, "from_seqno", 1);
      const writes = ctx.historical.writes(maps[visibility], utf8.encode(id), from, to);
      const entries = writes.map((w) => ({
        transaction_id: w.transactionId,
        msg: w.value === null ? null : utf8.decode(w.value),
      }));
      return { body: { id: Number(id), entries } };
    },
  };
}

export default defineApp({
  name: "logging",
  endpoints: [
    write("private"),
    write("public"),
    read("private"),
    read("public"),
    history("private"),
    history("public"),
  ],
});
