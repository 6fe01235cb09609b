/**
 * Length-prefixed frames on a byte stream: u32 big-endian length ‖ payload. The reader refuses a
 * frame longer than `frameBytesMax` before buffering it, so a peer cannot make us hold more than
 * one maximal frame plus one read chunk.
 */
export const FRAME_HEADER_BYTES = 4;

export function frameHeader(payloadBytes: number): Buffer {
  const h = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
  writeFrameHeader(h, payloadBytes);
  return h;
}

/** Writes the header of a `payloadBytes` frame at the start of `frame` (its first header bytes). */
export function writeFrameHeader(frame: Buffer, payloadBytes: number): void {
  frame.writeUInt32BE(payloadBytes, 0);
}

/** Splits a byte stream into frames; each frame handed out is its own fresh Buffer. */
export class FrameReader {
  private readonly frameBytesMax: number;
  private chunks: Buffer[] = [];
  private buffered = 0;

  constructor(frameBytesMax: number) {
    if (!Number.isSafeInteger(frameBytesMax) || frameBytesMax < 1 || frameBytesMax > 0xffffffff) {
      throw new RangeError("frameBytesMax must be in [1, 2^32)");
    }
    this.frameBytesMax = frameBytesMax;
  }

  /** Feeds bytes; returns the complete frames. Throws RangeError on an oversized frame (close the stream). */
  push(chunk: Buffer): Buffer[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const frames: Buffer[] = [];
    for (let i = 0; i < 1_000_000; i++) {
      if (this.buffered < FRAME_HEADER_BYTES) break;
      const head = this.peek(FRAME_HEADER_BYTES);
      const length = head.readUInt32BE(0);
      if (length > this.frameBytesMax) {
        throw new RangeError(`frame of ${length} bytes exceeds frameBytesMax ${this.frameBytesMax}`);
      }
      if (this.buffered < FRAME_HEADER_BYTES + length) break;
      const all = this.peek(FRAME_HEADER_BYTES + length);
      frames.push(Buffer.from(all.subarray(FRAME_HEADER_BYTES)));
      this.consume(FRAME_HEADER_BYTES + length);
    }
    return frames;
  }

  private peek(bytes: number): Buffer {
    if ((this.chunks[0] as Buffer).length < bytes) this.chunks = [Buffer.concat(this.chunks)];
    return (this.chunks[0] as Buffer).subarray(0, bytes);
  }

  private consume(bytes: number): void {
    const first = this.chunks[0] as Buffer;
    this.buffered -= bytes;
    if (first.length === bytes) this.chunks.shift();
    else this.chunks[0] = first.subarray(bytes);
  }
}
