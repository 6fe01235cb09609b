/**
 * Node-to-node channels: mutual TLS 1.3, node certificates endorsed by the service certificate
 * (nothing else is accepted, not even the service certificate itself), one persistent outbound
 * connection per peer for the messages this node sends, and inbound connections on which it only
 * receives. A message is accepted only if its `from` is the id (certificate digest) of the peer
 * that presented the certificate and its `to` is this node. Reconnects back off exponentially.
 */
import { X509Certificate } from "node:crypto";
import { connect, createServer, type PeerCertificate, type Server, type TLSSocket } from "node:tls";
import type { Message, NodeId } from "../../consensus/index.ts";
import { certificateId } from "../../crypto/x509.ts";
import type { Logger } from "../logger.ts";
import { type CodecLimits, codecLimitsDefault, decodeMessage, encodeMessage } from "./codec.ts";
import { FRAME_HEADER_BYTES, FrameReader, writeFrameHeader } from "./framing.ts";
import { SendQueue } from "./send-queue.ts";

export type PeerAddress = { host: string; port: number };

export type ChannelsOptions = {
  self: NodeId;
  /** PEM of this node's key and certificate, and of the service certificate (the only CA). */
  keyPem: string;
  certPem: string;
  serviceCertPem: string;
  listen: PeerAddress;
  /** Where a peer listens; null while unknown (its messages are dropped). */
  addressOf(id: NodeId): PeerAddress | null;
  /** Is this certificate id a node we talk to (Trusted or Retiring)? Others are disconnected. */
  isPeerAllowed(id: NodeId): boolean;
  onMessage(message: Message): void;
  frameBytesMax: number;
  queueFramesMax: number;
  queueBytesMax: number;
  reconnectMsMin: number;
  reconnectMsMax: number;
  log: Logger;
  codecLimits?: CodecLimits;
};

type Outbound = {
  id: NodeId;
  socket: TLSSocket | null;
  connected: boolean;
  /** The socket is corked until the end of this event-loop turn (see `write`). */
  corked: boolean;
  queue: SendQueue;
  backoffMs: number;
  retryAt: number;
  timer: NodeJS.Timeout | null;
};

/** The id of an endorsed, non-CA node certificate; null for anything else. */
function nodeIdOf(cert: PeerCertificate | undefined): NodeId | null {
  if (cert?.raw === undefined) return null;
  try {
    if (new X509Certificate(cert.raw).ca) return null;
  } catch {
    return null;
  }
  return certificateId(new Uint8Array(cert.raw));
}

export class Channels {
  private readonly o: ChannelsOptions;
  private readonly server: Server;
  private readonly peers = new Map<NodeId, Outbound>();
  private readonly inbound = new Set<TLSSocket>();
  /** Open inbound connections per peer: a peer connected to us is running and reachable. */
  private readonly inboundFrom = new Map<NodeId, number>();
  private closed = false;
  /** Frames received and refused (malformed, wrong sender); for metrics and tests. */
  refused = 0;

  constructor(options: ChannelsOptions) {
    this.o = options;
    this.server = createServer(
      {
        key: options.keyPem,
        cert: options.certPem,
        ca: options.serviceCertPem,
        requestCert: true,
        rejectUnauthorized: true,
        minVersion: "TLSv1.3",
      },
      (socket) => this.accept(socket),
    );
    this.server.on("tlsClientError", () => {
      this.refused++;
    });
  }

  listen(): Promise<PeerAddress> {
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(this.o.listen.port, this.o.listen.host, () => {
        const a = this.server.address();
        if (a === null || typeof a === "string") reject(new Error("node-to-node server has no address"));
        else resolve({ host: a.address, port: a.port });
      });
    });
  }

  private accept(socket: TLSSocket): void {
    const peer = nodeIdOf(socket.getPeerCertificate());
    if (peer === null || !this.o.isPeerAllowed(peer)) {
      this.refused++;
      socket.destroy();
      return;
    }
    this.inbound.add(socket);
    this.inboundFrom.set(peer, (this.inboundFrom.get(peer) ?? 0) + 1);
    socket.setNoDelay(true);
    const reader = new FrameReader(this.o.frameBytesMax);
    socket.on("data", (chunk: Buffer) => {
      try {
        for (const frame of reader.push(chunk)) this.receive(peer, frame);
      } catch (error) {
        this.refused++;
        this.o.log.warn("node-to-node stream refused", { peer, error: String(error) });
        socket.destroy();
      }
    });
    socket.on("error", () => {});
    socket.on("close", () => {
      this.inbound.delete(socket);
      const n = (this.inboundFrom.get(peer) ?? 1) - 1;
      if (n === 0) this.inboundFrom.delete(peer);
      else this.inboundFrom.set(peer, n);
    });
  }

  private receive(peer: NodeId, frame: Buffer): void {
    let message: Message;
    try {
      message = decodeMessage(frame, this.o.codecLimits ?? codecLimitsDefault);
    } catch (error) {
      this.refused++;
      this.o.log.warn("malformed node-to-node message", { peer, error: String(error) });
      return;
    }
    if (message.from !== peer || message.to !== this.o.self) {
      this.refused++;
      return;
    }
    this.o.onMessage(message);
  }

  /** Sends (or queues, or drops — see SendQueue) one message to `message.to`. */
  send(message: Message): void {
    if (this.closed || message.to === this.o.self) return;
    const peer = this.peerFor(message.to);
    if (!peer.connected) {
      if (peer.socket === null) this.connect(peer);
      if (peer.socket === null) {
        peer.queue.dropped++;
        return;
      }
    }
    // The message is encoded after room for its frame header: the frame is never copied again.
    const frame = encodeMessage(message, FRAME_HEADER_BYTES);
    const bodyBytes = frame.length - FRAME_HEADER_BYTES;
    if (bodyBytes > this.o.frameBytesMax) {
      this.o.log.error("message larger than frameBytesMax dropped", { to: message.to, bytes: bodyBytes });
      peer.queue.dropped++;
      return;
    }
    writeFrameHeader(frame, bodyBytes);
    if (
      peer.connected &&
      peer.queue.length === 0 &&
      peer.socket !== null &&
      peer.socket.writableNeedDrain === false
    ) {
      this.write(peer, peer.socket, frame);
      return;
    }
    peer.queue.push(frame);
  }

  private peerFor(id: NodeId): Outbound {
    let peer = this.peers.get(id);
    if (peer === undefined) {
      const queue = new SendQueue({ framesMax: this.o.queueFramesMax, bytesMax: this.o.queueBytesMax });
      peer = {
        id,
        socket: null,
        connected: false,
        corked: false,
        queue,
        backoffMs: 0,
        retryAt: 0,
        timer: null,
      };
      this.peers.set(id, peer);
    }
    return peer;
  }

  private connect(peer: Outbound): void {
    if (this.closed || Date.now() < peer.retryAt) return;
    const address = this.o.addressOf(peer.id);
    if (address === null) return;
    const socket = connect({
      host: address.host,
      port: address.port,
      key: this.o.keyPem,
      cert: this.o.certPem,
      ca: this.o.serviceCertPem,
      minVersion: "TLSv1.3",
      // Names do not matter between nodes: the peer must hold the certificate of the node we dial.
      checkServerIdentity: (_host, cert) =>
        nodeIdOf(cert) === peer.id ? undefined : new Error(`peer is not node ${peer.id.slice(0, 12)}`),
    });
    peer.socket = socket;
    socket.setNoDelay(true);
    socket.once("secureConnect", () => {
      peer.connected = true;
      peer.backoffMs = 0;
      this.drain(peer);
    });
    socket.on("drain", () => this.drain(peer));
    socket.on("data", () => {}); // nothing is sent back on an outbound connection
    socket.on("error", () => {});
    socket.once("close", () => this.lost(peer, socket));
  }

  private drain(peer: Outbound): void {
    const socket = peer.socket;
    if (socket === null || !peer.connected) return;
    for (let frame = peer.queue.shift(); frame !== undefined; frame = peer.queue.shift()) {
      if (!this.write(peer, socket, frame)) return;
    }
  }

  /**
   * Writes one frame, the first of a turn corking the socket until the turn's end (`nextTick`: after
   * the code that sent it, with no wait for other I/O), so that the frames sent to one peer in one
   * turn (a Ready's messages, a drained queue) leave in one TLS write instead of one write for the
   * first and a second for the rest. Returns `write`'s answer: false once the socket holds more than
   * its high-water mark (corked or not), and the next frames wait in the SendQueue for 'drain'.
   */
  private write(peer: Outbound, socket: TLSSocket, frame: Buffer): boolean {
    if (!peer.corked) {
      peer.corked = true;
      socket.cork();
      process.nextTick(() => {
        peer.corked = false;
        socket.uncork();
      });
    }
    return socket.write(frame);
  }

  private lost(peer: Outbound, socket: TLSSocket): void {
    if (peer.socket !== socket) return;
    peer.socket = null;
    peer.connected = false;
    peer.queue.clear();
    peer.backoffMs = Math.min(this.o.reconnectMsMax, Math.max(this.o.reconnectMsMin, peer.backoffMs * 2));
    peer.retryAt = Date.now() + peer.backoffMs;
  }

  /** Whether `id` holds an open connection to this node (it runs and can reach us). */
  isConnectedFrom(id: NodeId): boolean {
    return this.inboundFrom.has(id);
  }

  /** Opens the outbound connection to `id` now (a joiner announcing itself before it votes). */
  connectTo(id: NodeId): void {
    if (this.closed || id === this.o.self) return;
    const peer = this.peerFor(id);
    if (peer.socket === null) this.connect(peer);
  }

  /** Frames dropped per peer (queue full, unreachable, connection lost). */
  dropped(): Map<NodeId, number> {
    return new Map([...this.peers].map(([id, p]) => [id, p.queue.dropped]));
  }

  /** Closes the connection to `id` (e.g. a retired node); it is re-opened if messages follow. */
  disconnect(id: NodeId): void {
    this.peers.get(id)?.socket?.destroy();
  }

  close(): Promise<void> {
    this.closed = true;
    for (const p of this.peers.values()) p.socket?.destroy();
    for (const s of this.inbound) s.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
