// Small reads of a Coterie node's own API over mutual TLS, for the suite's bookkeeping (metrics,
// which node is primary); the load itself always comes from the generator process.
import { readFileSync } from "node:fs";
import { request } from "node:https";
import type { TlsFiles } from "./targets.ts";

const TIMEOUT_MS = 10_000;

/** GET url; resolves with the body of a 200 answer, rejects otherwise. */
export function getText(tls: TlsFiles, url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(url, {
      ca: readFileSync(tls.caFile),
      cert: readFileSync(tls.certFile),
      key: readFileSync(tls.keyFile),
      timeout: TIMEOUT_MS,
    });
    req.on("response", (res) => {
      let text = "";
      res.on("data", (d: Buffer) => (text += d.toString("utf8")));
      res.on("end", () =>
        res.statusCode === 200 ? resolve(text) : reject(new Error(`GET ${url}: ${res.statusCode}`)),
      );
    });
    req.on("timeout", () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on("error", reject);
    req.end();
  });
}

/** The client URL of the primary named by a `/node/network` answer, or null if none is known. */
export function primaryUrlOf(networkJson: string): string | null {
  const parsed = JSON.parse(networkJson) as { nodes?: { primary?: boolean; rpc_address?: string | null }[] };
  const primary = parsed.nodes?.find((n) => n.primary === true && typeof n.rpc_address === "string");
  return primary === undefined ? null : `https://${primary.rpc_address}`;
}

/** Asks each node in turn who is primary; the first answer naming one wins. */
export async function findPrimary(tls: TlsFiles, nodeUrls: readonly string[]): Promise<string | null> {
  for (const url of nodeUrls) {
    const found = await getText(tls, `${url}/node/network`)
      .then(primaryUrlOf)
      .catch(() => null);
    if (found !== null) return found;
  }
  return null;
}
