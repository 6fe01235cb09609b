// An incremental HTTP/1.1 response parser for the load generator: feeds on raw socket chunks and
// reports each complete response (status code, body length) in order, which is all a pipelining
// client needs. Bodies are skipped, never copied; only a split header block is buffered. Supports
// Content-Length and chunked bodies, and bodiless statuses (1xx, 204, 304). A response framed by
// connection close is refused: none of our targets send one, and silently accepting it would make
// the count wrong.

/** Header blocks larger than this are a protocol error (a bound on the only buffer we keep). */
export const HEADER_BYTES_MAX = 64 * 1024;

export type ResponseHandler = (status: number, bodyBytes: number, closeAfter: boolean) => void;

const CR = 13;
const LF = 10;
const HEADER_END = Buffer.from("\r\n\r\n");

type State = "head" | "body" | "chunkSize" | "chunkData" | "chunkDataEnd" | "trailer";

export class Http1ResponseParser {
  private state: State = "head";
  private pendingHead: Buffer | null = null;
  private status = 0;
  private closeAfter = false;
  private bodyRemaining = 0;
  private bodyBytes = 0;
  private chunkSizeText = "";
  private trailerLine = 0; // bytes seen on the current trailer line
  private readonly onResponse: ResponseHandler;

  constructor(onResponse: ResponseHandler) {
    this.onResponse = onResponse;
  }

  /** Consumes one chunk; throws Error on malformed input (the connection is then unusable). */
  push(chunk: Buffer): void {
    let data = chunk;
    let offset = 0;
    if (this.pendingHead !== null) {
      data = Buffer.concat([this.pendingHead, chunk]);
      this.pendingHead = null;
    }
    while (offset < data.length) {
      if (this.state === "head") offset = this.parseHead(data, offset);
      else if (this.state === "body") offset = this.skipBody(data, offset);
      else offset = this.parseChunked(data, offset);
      if (offset < 0) return; // head incomplete; rest kept in pendingHead
    }
  }

  private parseHead(data: Buffer, offset: number): number {
    const end = data.indexOf(HEADER_END, offset);
    if (end < 0) {
      if (data.length - offset > HEADER_BYTES_MAX) throw new Error("response header block too large");
      this.pendingHead = data.subarray(offset);
      return -1;
    }
    const head = data.toString("latin1", offset, end);
    if (!head.startsWith("HTTP/1."))
      throw new Error(`malformed status line: ${JSON.stringify(head.slice(0, 40))}`);
    this.status = Number.parseInt(head.slice(9, 12), 10);
    if (!(this.status >= 100 && this.status <= 599))
      throw new Error(`bad status code in ${head.slice(0, 20)}`);
    const lower = head.toLowerCase();
    this.closeAfter = lower.includes("\r\nconnection: close") || head.startsWith("HTTP/1.0");
    this.bodyBytes = 0;
    const next = end + 4;
    if ((this.status >= 100 && this.status < 200) || this.status === 204 || this.status === 304) {
      this.finish();
      return next;
    }
    if (/\r\ntransfer-encoding:[^\r]*chunked/.test(lower)) {
      this.state = "chunkSize";
      this.chunkSizeText = "";
      return next;
    }
    const match = /\r\ncontent-length:\s*(\d+)/.exec(lower);
    if (match === null) throw new Error("response without Content-Length or chunked encoding");
    this.bodyRemaining = Number.parseInt(match[1]!, 10);
    this.bodyBytes = this.bodyRemaining;
    if (this.bodyRemaining === 0) this.finish();
    else this.state = "body";
    return next;
  }

  private skipBody(data: Buffer, offset: number): number {
    const take = Math.min(this.bodyRemaining, data.length - offset);
    this.bodyRemaining -= take;
    if (this.bodyRemaining === 0) this.finish();
    return offset + take;
  }

  /** Chunked framing: size line, data, CRLF, ..., zero size, trailer lines, empty line. */
  private parseChunked(data: Buffer, offset: number): number {
    let i = offset;
    while (i < data.length) {
      const byte = data[i]!;
      if (this.state === "chunkSize") {
        i++;
        if (byte !== LF) {
          if (this.chunkSizeText.length > 64) throw new Error("chunk size line too long");
          if (byte !== CR) this.chunkSizeText += String.fromCharCode(byte);
          continue;
        }
        const size = Number.parseInt(this.chunkSizeText.split(";")[0]!.trim(), 16);
        if (!Number.isFinite(size) || size < 0) throw new Error(`bad chunk size ${this.chunkSizeText}`);
        this.chunkSizeText = "";
        this.bodyBytes += size;
        this.bodyRemaining = size;
        this.state = size === 0 ? "trailer" : "chunkData";
        this.trailerLine = 0;
      } else if (this.state === "chunkData") {
        const take = Math.min(this.bodyRemaining, data.length - i);
        this.bodyRemaining -= take;
        i += take;
        if (this.bodyRemaining === 0) this.state = "chunkDataEnd";
      } else if (this.state === "chunkDataEnd") {
        i++;
        if (byte === LF) this.state = "chunkSize";
      } else {
        i++;
        if (byte === LF) {
          if (this.trailerLine === 0) {
            this.finish();
            return i;
          }
          this.trailerLine = 0;
        } else if (byte !== CR) {
          if (++this.trailerLine > HEADER_BYTES_MAX) throw new Error("trailer line too long");
        }
      }
    }
    return i;
  }

  private finish(): void {
    this.state = "head";
    this.onResponse(this.status, this.bodyBytes, this.closeAfter);
  }
}
