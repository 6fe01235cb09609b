// A rekey under write load, end to end: concurrent private writes while members pass two
// `trigger_ledger_rekey` proposals; nothing is lost or garbled, the ledger holds entries under three
// secret versions and verifies offline, and after a SIGKILL the restarted node (which sealed only
// its first secret) reads every record, learning the later secrets from the ledger.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { firstSeqnoOfChunk, scanFrame } from "../../src/ledger/chunk-format.ts";
import { decodeEntry } from "../../src/ledger/entry.ts";
import { client, killNode, makeWorkspace, runCli, startNodeProcess } from "./harness.ts";
import { ack, pass } from "./members-harness.ts";

const WRITERS = 8;
const WRITES_PER_WRITER = 60;

/** Secret versions named by the headers of entries with a private section, read from the files. */
function secretVersions(ledgerDir: string): Set<number> {
  const versions = new Set<number>();
  for (const name of readdirSync(ledgerDir).filter((n) => firstSeqnoOfChunk(n) !== null)) {
    const buf = readFileSync(join(ledgerDir, name));
    for (let offset = 16; offset < buf.length; ) {
      const frame = scanFrame(buf, offset);
      if (!frame.ok) break;
      offset = frame.next;
      const h = decodeEntry(frame.entry).header;
      if (h.privateBytes > 0) versions.add(h.secretVersion);
    }
  }
  return versions;
}

test("rekey twice under concurrent private writes; verify; SIGKILL; restart reads everything", {
  timeout: 120_000,
}, async () => {
  const ws = await makeWorkspace();
  let node = await startNodeProcess(ws);
  await ack(node, ws.member);
  const user = client(node, ws.user);
  let done = 0;
  const writer = async (w: number) => {
    for (let i = 0; i < WRITES_PER_WRITER; i++) {
      const id = w * 1000 + i;
      const r = await user.post("/app/log/private", { id, msg: `m${id}` });
      assert.equal(r.status, 200, r.body);
      done++;
    }
  };
  const load = Promise.all(Array.from({ length: WRITERS }, (_, w) => writer(w)));
  const total = WRITERS * WRITES_PER_WRITER;
  while (done < total / 3) await new Promise((r) => setTimeout(r, 5));
  await pass(node, [ws.member], [{ name: "trigger_ledger_rekey" }]);
  while (done < (2 * total) / 3) await new Promise((r) => setTimeout(r, 5));
  await pass(node, [ws.member], [{ name: "trigger_ledger_rekey" }]);
  await load;
  const last = await user.post("/app/log/private?wait_for_commit=true", { id: 99_999, msg: "last" });
  assert.equal(last.status, 200, last.body);
  const check = async (c: ReturnType<typeof client>) => {
    for (let w = 0; w < WRITERS; w++)
      for (let i = 0; i < WRITES_PER_WRITER; i++) {
        const id = w * 1000 + i;
        assert.deepEqual((await c.get(`/app/log/private?id=${id}`)).json(), { id, msg: `m${id}` });
      }
  };
  await check(user);
  user.close();
  await killNode(node);

  const ledgerDir = join(ws.dir, "node0", "ledger");
  const versions = secretVersions(ledgerDir);
  assert.equal(versions.size, 3, `private entries under three secrets: ${[...versions].join(", ")}`);
  const verified = runCli([
    "ledger",
    "verify",
    ledgerDir,
    "--service-cert",
    join(ws.dir, "node0", "service_cert.pem"),
  ]);
  assert.equal(verified.status, 0, verified.stdout + verified.stderr);

  node = await startNodeProcess(ws);
  const again = client(node, ws.user);
  await check(again);
  assert.equal((await again.get("/app/log/private?id=99999")).json().msg, "last");
  again.close();
  await killNode(node, "SIGTERM");
});
