// One persistent, pipelined HTTP/1.1 connection of the load generator (plain TCP or TLS 1.3 with
// a client certificate). It remembers the start time of each request in flight, in order, in a
// fixed ring of `depth` slots — HTTP/1.1 answers in request order, so the oldest start time
// belongs to the next response the parser completes.
import * as net from "node:net";
import * as tls from "node:tls";
import { Http1ResponseParser } from "./http1-parser.ts";

export type TlsMaterial = { ca: Buffer; cert: Buffer; key: Buffer };

export type ConnectionEvents = {
  /** A response completed; `startMs` is the start time recorded for its request. */
  onResponse: (status: number, startMs: number) => void;
  /** A socket chunk was fully parsed (a good moment to refill the pipeline in one write). */
  onDrained: (conn: PipelinedConnection) => void;
  /** The socket failed or closed; `lostStartsMs` are the start times of requests left unanswered. */
  onLost: (conn: PipelinedConnection, reason: string, lostStartsMs: number[]) => void;
};

export class PipelinedConnection {
  readonly depth: number;
  private readonly starts: Float64Array;
  private head = 0;
  private count = 0;
  private socket: net.Socket | null = null;
  private readonly url: URL;
  private readonly tlsMaterial: TlsMaterial | null;
  private readonly events: ConnectionEvents;

  constructor(url: URL, tlsMaterial: TlsMaterial | null, depth: number, events: ConnectionEvents) {
    this.url = url;
    this.tlsMaterial = tlsMaterial;
    this.depth = depth;
    this.starts = new Float64Array(depth);
    this.events = events;
  }

  get inFlight(): number {
    return this.count;
  }

  get free(): number {
    return this.socket === null ? 0 : this.depth - this.count;
  }

  /** Opens the socket; resolves once TLS (if any) is established. */
  connect(timeoutMs: number): Promise<void> {
    const port = Number(this.url.port);
    const host = this.url.hostname;
    return new Promise((resolve, reject) => {
      const onReady = () => {
        clearTimeout(timer);
        socket.setNoDelay(true);
        this.attach(socket);
        resolve();
      };
      const socket =
        this.tlsMaterial === null
          ? net.connect({ host, port }, onReady)
          : tls.connect(
              {
                host,
                port,
                ...this.tlsMaterial,
                minVersion: "TLSv1.3",
                ALPNProtocols: ["http/1.1"],
                // The chain is verified against the CA; the loopback address is not in the cert.
                checkServerIdentity: () => undefined,
              },
              onReady,
            );
      const timer = setTimeout(() => socket.destroy(new Error(`connect timeout ${timeoutMs} ms`)), timeoutMs);
      socket.once("error", (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  }

  private attach(socket: net.Socket): void {
    this.socket = socket;
    socket.removeAllListeners("error");
    const parser = new Http1ResponseParser((status) => {
      if (this.count === 0) throw new Error(`unsolicited response with status ${status}`);
      const startMs = this.starts[this.head]!;
      this.head = (this.head + 1) % this.depth;
      this.count--;
      this.events.onResponse(status, startMs);
    });
    socket.on("data", (chunk: Buffer) => {
      try {
        parser.push(chunk);
      } catch (err) {
        this.lose(`protocol: ${(err as Error).message}`);
        return;
      }
      this.events.onDrained(this);
    });
    socket.on("error", (err) => this.lose(`connection: ${err.message}`));
    socket.on("close", () => this.lose("connection: closed by peer"));
  }

  /** Writes `text` (one or more whole requests) whose start times are `startsMs`, in order. */
  write(text: string, startsMs: readonly number[]): void {
    if (this.socket === null) throw new Error("write on a lost connection");
    if (startsMs.length > this.depth - this.count) throw new Error("pipeline depth exceeded");
    for (const s of startsMs) {
      this.starts[(this.head + this.count) % this.depth] = s;
      this.count++;
    }
    this.socket.write(text, "latin1");
  }

  private lose(reason: string): void {
    if (this.socket === null) return;
    const socket = this.socket;
    this.socket = null;
    const lost: number[] = [];
    for (let i = 0; i < this.count; i++) lost.push(this.starts[(this.head + i) % this.depth]!);
    this.head = 0;
    this.count = 0;
    socket.destroy();
    this.events.onLost(this, reason, lost);
  }

  close(): void {
    const socket = this.socket;
    this.socket = null;
    socket?.destroy();
  }
}
