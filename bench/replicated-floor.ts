// The floor under a committed write on this machine: the least work any service with Coterie's
// transport and durability must do for one, and nothing else. A primary takes mutual-TLS HTTP
// requests as the ceiling does (bench/baseline-https.ts) and answers each connection's responses
// once per event-loop turn (src/node/write-batch.ts, as a node does). Each turn's request bodies
// become one batch that goes, length-prefixed, to its own log file through an `O_DSYNC`
// descriptor on libuv's thread pool (as a node's ledger) and to every backup over one persistent
// mutual-TLS connection each. A backup appends every batch to its own log the same way and
// acknowledges it once durable. A batch is committed once the primary's write and a majority of
// the members' (the primary counting) are durable; its requests are answered then, in order.
// Batches are pipelined: a new one leaves while earlier ones wait for their acknowledgements.
//
// Left out on purpose, because each is a cost Coterie pays on top: parsing the body, routing,
// executing a transaction, the key-value store, encrypting the private write set, the entry's
// encoding and hashes, the Merkle tree, signatures, receipts, consensus messages beyond one frame
// and one acknowledgement, applying entries on a backup. Divided by this, a Coterie figure says how
// much of what the hardware and Node allow for a replicated, durable write it reaches.
//
// Usage:
//   node bench/replicated-floor.ts backup PORT CA_PEM CERT_PEM KEY_PEM DIR
//   node bench/replicated-floor.ts primary PORT CA_PEM CERT_PEM KEY_PEM CLIENT_CERT CLIENT_KEY DIR [BACKUP_PORT ...]
// Each prints `listening on https://127.0.0.1:PORT` (a backup: tls://) once ready; a primary only
// after its connection to every backup is up. With no backup port the primary commits alone.

import { readFileSync } from "node:fs";
import { constants, type FileHandle, mkdir, open } from "node:fs/promises";
import type { ServerResponse } from "node:http";
import * as https from "node:https";
import { join } from "node:path";
import * as tls from "node:tls";
import { writevFully } from "../src/ledger/files.ts";
import { FrameReader, frameHeader } from "../src/node/channels/framing.ts";
import { batchWrites } from "../src/node/write-batch.ts";
import { mtlsServerOptions } from "./mtls-options.ts";

/**
 * Most bytes one frame may carry. A batch holds at most what the generator has in flight (its
 * connections × pipeline depth, bounded by bench/load-config.ts): 256 ~75-byte bodies is ~20 KB.
 */
const FRAME_BYTES_MAX = 64 * 1024 * 1024;
const ANSWER = Buffer.from('{"transaction_id":"2.15"}');
const APPEND_DSYNC = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_DSYNC;

/** An append-only file written one `writev` at a time; what arrives meanwhile is the next write. */
class DurableLog {
  private waiting: Buffer[] = [];
  private waitingSeq = 0;
  private writing = false;

  private readonly handle: FileHandle;
  private readonly onDurable: (seq: number) => void;

  constructor(handle: FileHandle, onDurable: (seq: number) => void) {
    this.handle = handle;
    this.onDurable = onDurable;
  }

  static async open(dir: string, onDurable: (seq: number) => void): Promise<DurableLog> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    return new DurableLog(await open(join(dir, "floor.log"), APPEND_DSYNC, 0o600), onDurable);
  }

  append(parts: Buffer[], seq: number): void {
    for (const p of parts) this.waiting.push(p);
    this.waitingSeq = seq;
    if (!this.writing) void this.write();
  }

  private async write(): Promise<void> {
    this.writing = true;
    while (this.waiting.length > 0) {
      const parts = this.waiting;
      const seq = this.waitingSeq;
      this.waiting = [];
      await writevFully(this.handle, parts);
      this.onDurable(seq);
    }
    this.writing = false;
  }
}

function u32(value: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(value, 0);
  return b;
}

function fail(error: unknown): never {
  process.stderr.write(`replicated-floor: ${String(error)}\n`);
  process.exit(1);
}

async function backup(port: number, caFile: string, certFile: string, keyFile: string, dir: string) {
  let primary: tls.TLSSocket | null = null;
  const log = await DurableLog.open(dir, (seq) => {
    const ack = u32(seq);
    primary?.write(Buffer.concat([frameHeader(ack.length), ack]));
  });
  const server = tls.createServer(mtlsServerOptions(caFile, certFile, keyFile), (socket) => {
    primary = socket;
    socket.setNoDelay(true);
    const reader = new FrameReader(FRAME_BYTES_MAX);
    socket.on("data", (chunk: Buffer) => {
      for (const frame of reader.push(chunk))
        log.append([frameHeader(frame.length), frame], frame.readUInt32BE(0));
    });
    socket.on("error", () => {});
  });
  server.listen(port, "127.0.0.1", () => process.stdout.write(`listening on tls://127.0.0.1:${port}\n`));
}

type Batch = { seq: number; answers: ServerResponse[] };

async function primary(args: string[]) {
  const [portText, caFile, certFile, keyFile, clientCertFile, clientKeyFile, dir, ...backupPorts] = args;
  if (dir === undefined) fail("primary: missing arguments");
  const ca = readFileSync(caFile as string);
  const members = backupPorts.length + 1;
  /** Backups that must hold a batch besides the primary: a majority of the members, less one. */
  const backupsNeeded = Math.floor(members / 2);
  const acked = backupPorts.map(() => 0);
  let durable = 0;
  let committed = 0;
  let seq = 0;
  const inFlight: Batch[] = [];

  const advance = () => {
    const sorted = [...acked].sort((a, b) => b - a);
    const byBackups = backupsNeeded === 0 ? durable : (sorted[backupsNeeded - 1] as number);
    const next = Math.min(durable, byBackups);
    if (next <= committed) return;
    committed = next;
    while (inFlight.length > 0 && (inFlight[0] as Batch).seq <= committed) {
      for (const res of (inFlight.shift() as Batch).answers) {
        res.writeHead(200, { "content-type": "application/json", "content-length": ANSWER.length });
        res.end(ANSWER);
      }
    }
  };

  const log = await DurableLog.open(dir, (s) => {
    durable = s;
    advance();
  });

  const sockets = await Promise.all(
    backupPorts.map(
      (p, i) =>
        new Promise<tls.TLSSocket>((resolve, reject) => {
          const socket = tls.connect({
            host: "127.0.0.1",
            port: Number(p),
            ca,
            cert: readFileSync(clientCertFile as string),
            key: readFileSync(clientKeyFile as string),
            minVersion: "TLSv1.3",
          });
          socket.setNoDelay(true);
          const reader = new FrameReader(1024);
          socket.on("data", (chunk: Buffer) => {
            for (const frame of reader.push(chunk))
              acked[i] = Math.max(acked[i] as number, frame.readUInt32BE(0));
            advance();
          });
          socket.once("secureConnect", () => resolve(socket));
          socket.once("error", reject);
          socket.once("close", () => fail(`backup on port ${p} closed the connection`));
        }),
    ),
  );

  let bodies: Buffer[] = [];
  let answers: ServerResponse[] = [];
  let scheduled = false;
  const seal = () => {
    scheduled = false;
    seq++;
    const parts: Buffer[] = [u32(seq)];
    for (const body of bodies) parts.push(u32(body.length), body);
    const payload = Buffer.concat(parts);
    const frame = Buffer.concat([frameHeader(payload.length), payload]);
    for (const socket of sockets) socket.write(frame);
    log.append([frame], seq);
    inFlight.push({ seq, answers });
    bodies = [];
    answers = [];
  };

  const peerOf = new WeakMap<tls.TLSSocket, string>();
  const server = https.createServer(
    {
      ...mtlsServerOptions(caFile as string, certFile as string, keyFile as string),
      keepAliveTimeout: 60_000,
    },
    (req, res) => {
      if (peerOf.get(req.socket as tls.TLSSocket) === undefined) {
        res.writeHead(401).end();
        return;
      }
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        bodies.push(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks));
        answers.push(res);
        if (!scheduled) {
          scheduled = true;
          setImmediate(seal);
        }
      });
    },
  );
  server.on("secureConnection", (socket: tls.TLSSocket) => {
    peerOf.set(socket, socket.getPeerCertificate().fingerprint256);
    batchWrites(socket, 64 * 1024);
  });
  const port = Number(portText);
  server.listen(port, "127.0.0.1", () => process.stdout.write(`listening on https://127.0.0.1:${port}\n`));
}

const [role, ...rest] = process.argv.slice(2);
process.on("SIGTERM", () => process.exit(0));
if (role === "backup" && rest.length === 5) {
  const [port, ca, cert, key, dir] = rest as [string, string, string, string, string];
  backup(Number(port), ca, cert, key, dir).catch(fail);
} else if (role === "primary" && rest.length >= 7) {
  primary(rest).catch(fail);
} else {
  process.stderr.write(
    "usage: node bench/replicated-floor.ts backup PORT CA CERT KEY DIR\n" +
      "       node bench/replicated-floor.ts primary PORT CA CERT KEY CLIENT_CERT CLIENT_KEY DIR [BACKUP_PORT ...]\n",
  );
  process.exit(2);
}
