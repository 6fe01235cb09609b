/**
 * One socket write per event-loop turn for a client connection's responses.
 *
 * `node:http` hands a pipelined response to the socket only once the previous response's `finish`
 * has fired, and `finish` fires when that response's socket write completes (on a TLS socket, in a
 * later turn). So sixteen responses that complete in one turn on one connection leave as sixteen
 * TLS writes, one after the other, and corking the socket changes nothing (the chain waits on
 * write completions, and `res.end()` uncorks the socket fully).
 *
 * `batchWrites` makes the socket accept a write at once, like a kernel buffer would, while fewer
 * than `bytesMax` bytes wait, and writes everything accepted in the turn with one `_writev` at
 * `setImmediate`. The response chain then runs through in the same turn, and its responses share
 * one write. Limits and order:
 * - Bytes are written in the order they were accepted; one real write is in flight at a time.
 * - At most `bytesMax` bytes are accepted ahead of the socket: the write that reaches the limit is
 *   written at once and is acknowledged only when the socket has taken it, so the stream's own
 *   back-pressure (`write()` returning false, `drain`) applies beyond it (large streamed bodies).
 * - `end()` shuts the socket down only after everything accepted is written (`_final` waits).
 * - `destroy()` first hands what waits to the socket if no write is in flight (node:http writes its
 *   400 for a malformed request and destroys the socket at once; it must still leave).
 * - A failed write destroys the socket with its error (acknowledged bytes are lost, as they would
 *   be in a kernel buffer).
 */
import type { Socket } from "node:net";

type Chunk = { chunk: Buffer | string; encoding: BufferEncoding };
type Callback = (error?: Error | null) => void;

/** The `stream.Writable` implementation hooks of a socket (documented for stream implementers). */
type WritableHooks = {
  _write(chunk: Buffer | string, encoding: BufferEncoding, cb: Callback): void;
  _writev(chunks: Chunk[], cb: Callback): void;
  _final(cb: Callback): void;
  _destroy(error: Error | null, cb: Callback): void;
};

/** Installs the batching on `socket` (before anything is written to it). */
export function batchWrites(socket: Socket, bytesMax: number): void {
  if (!Number.isSafeInteger(bytesMax) || bytesMax < 1)
    throw new RangeError("bytesMax must be a positive integer");
  const hooks = socket as unknown as WritableHooks;
  const writev = hooks._writev.bind(socket);
  const final = hooks._final.bind(socket);
  const destroy = hooks._destroy.bind(socket);
  let waiting: Chunk[] = [];
  let waitingBytes = 0;
  /** The callback of the write that reached `bytesMax`: called once the socket has taken it. */
  let held: Callback | null = null;
  let inFlight = false;
  let scheduled = false;
  let finalCallback: Callback | null = null;

  const flush = (): void => {
    scheduled = false;
    if (inFlight) return;
    if (waiting.length === 0) {
      const cb = finalCallback;
      finalCallback = null;
      if (cb !== null) final(cb);
      return;
    }
    const chunks = waiting;
    const cb = held;
    waiting = [];
    waitingBytes = 0;
    held = null;
    inFlight = true;
    writev(chunks, (error) => {
      inFlight = false;
      if (error) {
        if (cb !== null) cb(error);
        else socket.destroy(error);
        return;
      }
      cb?.();
      if (waiting.length > 0 || finalCallback !== null) flush();
    });
  };

  const accept = (chunks: Chunk[], cb: Callback): void => {
    for (const c of chunks) {
      waiting.push(c);
      waitingBytes += typeof c.chunk === "string" ? Buffer.byteLength(c.chunk, c.encoding) : c.chunk.length;
    }
    if (waitingBytes < bytesMax) {
      if (!scheduled && !inFlight) {
        scheduled = true;
        setImmediate(flush);
      }
      cb();
      return;
    }
    held = cb;
    flush();
  };

  hooks._write = (chunk, encoding, cb) => accept([{ chunk, encoding }], cb);
  hooks._writev = (chunks, cb) => accept(chunks, cb);
  hooks._final = (cb) => {
    finalCallback = cb;
    if (!scheduled) flush();
  };
  hooks._destroy = (error, cb) => {
    if (!inFlight && waiting.length > 0) flush();
    destroy(error, cb);
  };
}
