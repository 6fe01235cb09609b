// Small reads of a Coterie node's own API over mutual TLS, for the suite's bookkeeping (metrics,
// which node is primary); the load itself always comes from the generator process.
import { readFileSync } from "node:fs";
import { request } from "node:https";
import { parseGauges } from "./footprint-calc.ts";
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

/**
 * The seqno every node has reached, from each node's `/node/metrics` gauges, when they all agree:
 * the same last seqno everywhere, and each node knows it committed. Null otherwise (a backup still
 * applying what it was sent, or a commit not yet heard of), or if a gauge is missing.
 */
export function caughtUpSeqno(nodes: readonly Map<string, number>[]): number | null {
  let seqno: number | null = null;
  for (const gauges of nodes) {
    const last = gauges.get("coterie_last_seqno");
    const commit = gauges.get("coterie_commit_seqno");
    if (last === undefined || commit !== last || (seqno !== null && last !== seqno)) return null;
    seqno = last;
  }
  return seqno;
}

/**
 * Waits until every node has applied everything earlier points sent: `caughtUpSeqno` the same on
 * two polls in a row. Resolves with the milliseconds waited; rejects after `timeoutMs`. Without it,
 * a point can run while backups are still working through the previous point's writes (the
 * primary answers plain writes, and commits, long before the last of five nodes has them).
 */
export async function waitForNodesCaughtUp(
  tls: TlsFiles,
  nodeUrls: readonly string[],
  timeoutMs: number,
  pollMs = 100,
): Promise<number> {
  const started = Date.now();
  let previous: number | null = null;
  for (;;) {
    const gauges = await Promise.all(
      nodeUrls.map((url) =>
        getText(tls, `${url}/node/metrics`)
          .then(parseGauges)
          .catch(() => new Map<string, number>()),
      ),
    );
    const seqno = caughtUpSeqno(gauges);
    if (seqno !== null && seqno === previous) return Date.now() - started;
    previous = seqno;
    if (Date.now() - started > timeoutMs) {
      throw new Error(`the nodes did not catch up within ${timeoutMs} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}
