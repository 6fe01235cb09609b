/**
 * Synchronous framed messages over a pair of named pipes, for the process-isolated sandbox.
 * A frame is a 4-byte big-endian length and that many bytes of UTF-8 JSON.
 *
 * The parent's ends are non-blocking (so it can keep a deadline and notice a dead child: a read
 * returns 0 bytes once the child's write end is closed); the child's ends are blocking.
 */
import { Buffer } from "node:buffer";
import { readSync, writeSync } from "node:fs";

/** Largest frame either side accepts; bounded by the sandbox limits plus envelope. */
export type FrameLimits = { frameBytesMax: number };

const sleepCell = new Int32Array(new SharedArrayBuffer(4));

/** Sleeps the thread for `ms` (fractions allowed) without spinning. */
export function sleepMs(ms: number): void {
  Atomics.wait(sleepCell, 0, 0, ms);
}

function isAgain(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return code === "EAGAIN" || code === "EWOULDBLOCK";
}

/** Why waiting for the other side ended without a frame. */
export class PipeClosed extends Error {
  override name = "PipeClosed";
}
export class PipeDeadline extends Error {
  override name = "PipeDeadline";
}

/** Reads exactly `length` bytes; polls when the fd is non-blocking, until `deadlineMs` (performance.now). */
function readExactly(fd: number, length: number, deadlineMs: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  let have = 0;
  let idlePolls = 0;
  while (have < length) {
    let n: number;
    try {
      n = readSync(fd, out, have, length - have, null);
    } catch (error) {
      if (!isAgain(error)) throw error;
      if (performance.now() > deadlineMs) throw new PipeDeadline("no reply before the deadline");
      idlePolls += 1;
      if (idlePolls > 50) sleepMs(0.05); // spin briefly for fast replies, then yield the core
      continue;
    }
    if (n === 0) throw new PipeClosed("the other side closed the pipe");
    have += n;
    idlePolls = 0;
  }
  return out;
}

export function readFrame(fd: number, limits: FrameLimits, deadlineMs = Number.POSITIVE_INFINITY): unknown {
  const header = readExactly(fd, 4, deadlineMs);
  const length = header.readUInt32BE(0);
  if (length > limits.frameBytesMax) throw new RangeError(`frame of ${length} bytes exceeds the limit`);
  return JSON.parse(readExactly(fd, length, deadlineMs).toString("utf8"));
}

export function writeFrame(fd: number, message: unknown, deadlineMs = Number.POSITIVE_INFINITY): void {
  const body = Buffer.from(JSON.stringify(message), "utf8");
  const frame = Buffer.allocUnsafe(4 + body.length);
  frame.writeUInt32BE(body.length, 0);
  body.copy(frame, 4);
  let sent = 0;
  while (sent < frame.length) {
    try {
      sent += writeSync(fd, frame, sent, frame.length - sent);
    } catch (error) {
      if (!isAgain(error)) throw error; // EPIPE: the reader is gone
      if (performance.now() > deadlineMs) throw new PipeDeadline("the other side stopped reading");
      sleepMs(0.05);
    }
  }
}
