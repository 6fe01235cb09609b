// Before each point on a multi-node target the suite waits until every node has applied what the
// points before sent (bench/node-api.ts). The rule on the nodes' gauges, then the wait itself
// against real mutual-TLS servers on loopback that serve `/node/metrics` as nodes do.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import * as https from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { type CertFiles, writeBenchCerts } from "../../../bench/certs.ts";
import { caughtUpSeqno, waitForNodesCaughtUp } from "../../../bench/node-api.ts";

const gauges = (last: number | undefined, commit: number | undefined) => {
  const m = new Map<string, number>();
  if (last !== undefined) m.set("coterie_last_seqno", last);
  if (commit !== undefined) m.set("coterie_commit_seqno", commit);
  return m;
};

test("caught up: every node at the same last seqno, and each knows it committed", () => {
  assert.equal(caughtUpSeqno([gauges(40, 40), gauges(40, 40), gauges(40, 40)]), 40);
  // A backup still applying, one that has not heard of the commit, a primary not yet committed.
  assert.equal(caughtUpSeqno([gauges(40, 40), gauges(31, 31), gauges(40, 40)]), null);
  assert.equal(caughtUpSeqno([gauges(40, 40), gauges(40, 38), gauges(40, 40)]), null);
  assert.equal(caughtUpSeqno([gauges(41, 40), gauges(40, 40)]), null);
  // A node that did not answer (no gauges) is not caught up.
  assert.equal(caughtUpSeqno([gauges(40, 40), new Map()]), null);
  assert.equal(caughtUpSeqno([gauges(40, undefined)]), null);
});

const dir = mkdtempSync(join(tmpdir(), "catch-up-test-"));
let certs: CertFiles;
const servers: https.Server[] = [];
/** What each fake node reports; tests change it while the wait runs. */
const state: Array<{ last: number; commit: number }> = [];

async function startNode(index: number): Promise<string> {
  const server = https.createServer(
    {
      cert: readFileSync(certs.serverCertFile),
      key: readFileSync(certs.serverKeyFile),
      ca: readFileSync(certs.caFile),
      requestCert: true,
      rejectUnauthorized: true,
    },
    (req, res) => {
      const s = state[index] as { last: number; commit: number };
      if (req.url !== "/node/metrics") return void res.writeHead(404).end();
      res.writeHead(200, { "content-type": "text/plain" });
      res.end(
        `# TYPE coterie_last_seqno gauge\ncoterie_last_seqno ${s.last}\ncoterie_commit_seqno ${s.commit}\n`,
      );
    },
  );
  servers.push(server);
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  return `https://127.0.0.1:${(server.address() as { port: number }).port}`;
}

let urls: string[] = [];
before(async () => {
  certs = await writeBenchCerts(dir);
  for (let i = 0; i < 3; i++) state.push({ last: 10, commit: 10 });
  urls = [await startNode(0), await startNode(1), await startNode(2)];
});
after(() => {
  for (const s of servers) s.close();
  rmSync(dir, { recursive: true, force: true });
});

test("the wait ends once the lagging node has caught up, and fails if it never does", async () => {
  const tls = { caFile: certs.caFile, certFile: certs.certFile, keyFile: certs.keyFile };
  state[0] = { last: 500, commit: 500 };
  state[1] = { last: 500, commit: 500 };
  state[2] = { last: 120, commit: 120 };
  const catchUp = setTimeout(() => {
    state[2] = { last: 500, commit: 500 };
  }, 400);
  const waited = await waitForNodesCaughtUp(tls, urls, 5_000, 20);
  clearTimeout(catchUp);
  assert.ok(waited >= 380, `waited ${waited} ms, at least until the last node caught up`);

  state[2] = { last: 499, commit: 499 };
  await assert.rejects(waitForNodesCaughtUp(tls, urls, 300, 20), /did not catch up within 300 ms/);
});
