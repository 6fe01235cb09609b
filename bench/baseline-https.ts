// The machine's ceiling: a bare `node:https` server, one process and one thread (like a node's
// frontend), TLS 1.3 only, client certificate required and verified, the peer certificate read
// once per connection (as Coterie must), answering every request with a fixed small JSON body.
// Usage: node bench/baseline-https.ts PORT CA_PEM CERT_PEM KEY_PEM [batch]
// Prints `listening on https://127.0.0.1:PORT` when ready. With `batch`, each connection writes its
// responses once per event-loop turn, as a Coterie node does (src/node/write-batch.ts); the suite's
// ceiling is without it (bench/ceiling-batching.ts compares the two).
import * as https from "node:https";
import type { TLSSocket } from "node:tls";
import { batchWrites } from "../src/node/write-batch.ts";
import { mtlsServerOptions } from "./mtls-options.ts";

const [portText, caFile, certFile, keyFile, mode] = process.argv.slice(2);
if (portText === undefined || caFile === undefined || certFile === undefined || keyFile === undefined) {
  process.stderr.write("usage: node bench/baseline-https.ts PORT CA_PEM CERT_PEM KEY_PEM [batch]\n");
  process.exit(2);
}
const port = Number(portText);
const body = Buffer.from('{"transaction_id":"2.15"}');
const peerOf = new WeakMap<TLSSocket, string>();

const server = https.createServer(
  { ...mtlsServerOptions(caFile, certFile, keyFile), keepAliveTimeout: 60_000 },
  (req, res) => {
    // A real handler would authorise on this identity; reading it is part of the cost.
    const caller = peerOf.get(req.socket as TLSSocket);
    if (caller === undefined) {
      res.writeHead(401).end();
      return;
    }
    req.resume();
    req.on("end", () => {
      res.writeHead(200, { "content-type": "application/json", "content-length": body.length });
      res.end(body);
    });
  },
);
server.on("secureConnection", (socket: TLSSocket) => {
  peerOf.set(socket, socket.getPeerCertificate().fingerprint256);
  if (mode === "batch") batchWrites(socket, 64 * 1024);
});
server.listen(port, "127.0.0.1", () => process.stdout.write(`listening on https://127.0.0.1:${port}\n`));
process.on("SIGTERM", () => process.exit(0));
