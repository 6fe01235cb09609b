// Disaster recovery from a ledger that starts after a snapshot (issue 6: "recover mode on the
// surviving ledger files and a snapshot"). A two-node network with snapshots writes private
// records across a rekey; a third node joins from the latest committed snapshot, so its ledger
// starts after it; more records are written, some overwriting records the snapshot holds. All three
// nodes die and only the joiner's directory survives. `ledger verify` checks it from the snapshot
// (and refuses a tampered or missing one); `coterie recover start` recovers from it: the public
// state comes from the snapshot and the suffix, the recovering node restarts before the shares
// arrive, and the member's share restores the private state — the snapshot's private maps
// overlaid with the suffix — after which old receipts verify and a normal restart reads everything.
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { ledgerOnDisk } from "../../src/cli/ledger-base.ts";
import { type LedgerVerifyReport, verifyLedgerChunks } from "../../src/client/ledger-verify.ts";
import { verifyReceipt } from "../../src/crypto/receipt.ts";
import { firstSeqnoOfChunk } from "../../src/ledger/chunk-format.ts";
import { committedSnapshots } from "../../src/node/snapshot-files.ts";
import { client, killNode, type NodeProcess, runCli, spawnCli } from "./harness.ts";
import { encryptionKey, gov, pass } from "./members-harness.ts";
import {
  findPrimary,
  isAlive,
  joinerConfig,
  type Net,
  networkOf,
  proposeAndAccept,
  spawnNode,
  startNetwork,
  stateOf,
  userClient,
  waitFor,
} from "./multi-node-harness.ts";

let net: Net | null = null;
const recoveredNodes: NodeProcess[] = [];
after(async () => {
  for (const n of net?.nodes ?? []) if (isAlive(n)) await killNode(n, "SIGKILL");
  for (const n of recoveredNodes)
    if (n.child.exitCode === null && n.child.signalCode === null) await killNode(n, "SIGKILL");
});

test("recovery from a ledger that starts after a snapshot brings back every private record", {
  timeout: 180_000,
}, async () => {
  const keys = mkdtempSync(join(tmpdir(), "coterie-recovery-snapshot-"));
  const enc = encryptionKey(keys, "member0", "ec");
  net = await startNetwork(2, {
    snapshots: { intervalTxs: 20 },
    genesis: {
      members: [{ cert: "member0_cert.pem", encryption_public_key: enc.publicPem }],
      users: [{ cert: "user0_cert.pem" }],
      open: false,
    },
  });
  const ws = net.ws;
  const primary = await findPrimary(net.nodes);
  assert.ok(primary);
  const expected = new Map<number, string>();
  const receipts: unknown[] = [];
  const write = async (ids: number[], version: string) => {
    const c = userClient(primary, ws);
    try {
      for (const id of ids) {
        const wait = id % 10 === 0;
        const r = await c.post(`/app/log/private${wait ? "?wait_for_commit=true" : ""}`, {
          id,
          msg: `${version} ${id}`,
        });
        assert.equal(r.status, 200, r.body);
        expected.set(id, `${version} ${id}`);
        if (wait) receipts.push(r.json().receipt);
      }
    } finally {
      c.close();
    }
  };
  await write([...Array(15).keys()], "v1");
  assert.equal(await proposeAndAccept(primary, ws, [{ name: "trigger_ledger_rekey" }]), "Accepted");
  await write(
    [...Array(30).keys()].map((i) => i + 15),
    "v1",
  );
  const primarySnapshots = join(primary.dataDir, "snapshots");
  await waitFor(
    () => (committedSnapshots(primarySnapshots)[0]?.seqno ?? 0) > 40,
    20_000,
    "a committed snapshot",
  );

  // A third node joins from that snapshot: its ledger starts right after it.
  const index = net.nodes.length;
  const joining = spawnNode(ws, index, joinerConfig(net, index, primary.url));
  let pending: string | undefined;
  await waitFor(
    async () => {
      pending = (await networkOf(primary)).nodes.find((n) => n.status === "Pending")?.node_id;
      return pending !== undefined;
    },
    15_000,
    "the joiner is recorded Pending",
  );
  const trust = [{ name: "transition_node_to_trusted", args: { node_id: pending } }];
  assert.equal(await proposeAndAccept(primary, ws, trust), "Accepted");
  const joiner = await joining;
  net.nodes.push(joiner);
  const fetched = committedSnapshots(join(joiner.dataDir, "snapshots"))[0];
  assert.ok(fetched !== undefined, "the joiner holds the snapshot it started from");

  // After the snapshot: new records, and records the snapshot holds overwritten.
  await write([0, 1, 2, 3, 4, 45, 46, 47, 48, 49], "v2");
  const goal = (await stateOf(primary)).last_seqno;
  await waitFor(async () => (await stateOf(joiner)).last_seqno >= goal, 15_000, "the joiner caught up");
  const firstChunk = Math.min(
    ...readdirSync(join(joiner.dataDir, "ledger"))
      .map((n) => firstSeqnoOfChunk(n))
      .filter((s): s is number => s !== null),
  );
  assert.equal(firstChunk, fetched.seqno + 1, "the surviving ledger starts after the snapshot");
  await new Promise((r) => setTimeout(r, 300)); // the last signature reaches every disk
  for (const n of net.nodes) await killNode(n);

  // Offline checks of the surviving directory: verified from its snapshot; tampered or missing refused.
  const verified = runCli(["ledger", "verify", joiner.dataDir]);
  assert.equal(verified.status, 0, verified.stdout + verified.stderr);
  assert.match(verified.stdout, new RegExp(`started after snapshot ${fetched.seqno} `));
  await browserAgrees(joiner.dataDir);
  const tampered = mkdtempSync(join(tmpdir(), "coterie-tampered-"));
  cpSync(joiner.dataDir, tampered, { recursive: true });
  const copy = committedSnapshots(join(tampered, "snapshots"))[0]!;
  const bytes = readFileSync(copy.path);
  bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) ^ 1;
  writeFileSync(copy.path, bytes);
  const refused = runCli(["ledger", "verify", tampered]);
  assert.notEqual(refused.status, 0);
  assert.match(refused.stderr, /another digest/);
  await browserAgrees(tampered);
  const bare = mkdtempSync(join(tmpdir(), "coterie-bare-ledger-"));
  cpSync(join(joiner.dataDir, "ledger"), bare, { recursive: true });
  const missing = runCli(["ledger", "verify", bare]);
  assert.notEqual(missing.status, 0);
  assert.match(missing.stderr, /COTERIE_ERR_SNAPSHOT_MISSING/);
  const explicit = runCli(["ledger", "verify", bare, "--snapshot", fetched.path]);
  assert.equal(explicit.status, 0, explicit.stdout + explicit.stderr);
  // Bad input changes nothing and says what is wrong: a snapshot for a whole ledger, no chunks.
  const unneeded = runCli(["ledger", "verify", primary.dataDir, "--snapshot", fetched.path]);
  assert.equal(unneeded.status, 2);
  assert.match(unneeded.stderr, /starts at seqno 1: it is verified without a snapshot/);
  const empty = runCli(["ledger", "verify", mkdtempSync(join(tmpdir(), "coterie-empty-"))]);
  assert.equal(empty.status, 2);
  assert.match(empty.stderr, /holds no ledger chunk/);

  const config = JSON.parse(readFileSync(ws.configPath, "utf8"));
  delete config.nodeToNode;
  delete config.consensus;
  const recoveredConfig = join(ws.dir, "recovered.config.json");
  writeFileSync(recoveredConfig, JSON.stringify({ ...config, dataDir: "recovered" }));
  const certPath = join(ws.dir, "recovered", "service_cert.pem");
  let recovered = await spawnCli(
    ["recover", "start", "--config", recoveredConfig, "--from", joiner.dataDir],
    certPath,
  );
  recoveredNodes.push(recovered);
  assert.match(recovered.stderr(), new RegExp(`starts after snapshot ${fetched.seqno}`));
  await pass(recovered, [ws.member], [{ name: "transition_service_to_open" }]);
  const opened = (await stateOf(recovered)).last_seqno;
  await waitFor(
    async () => Number((await stateOf(recovered)).committed_transaction_id.split(".")[1]) >= opened,
    10_000,
    "the opening vote is committed",
  );

  // A restart before the shares arrive loads only the snapshot's public maps and keeps waiting.
  await killNode(recovered);
  recovered = await spawnCli(["start", "--config", recoveredConfig], certPath);
  recoveredNodes.push(recovered);
  const reader = client(recovered, ws.user);
  try {
    assert.equal((await reader.get("/gov/v1/recovery")).json().state?.status, "AwaitingShares");
    assert.notEqual((await reader.get("/app/log/private?id=7")).status, 200, "closed until the share is in");
    const share = runCli([
      "recover",
      "decrypt-share",
      "--key",
      enc.path,
      "--ledger",
      join(joiner.dataDir, "ledger"),
      "--member-cert",
      ws.member.certPath,
    ]);
    assert.equal(share.status, 0, share.stderr);
    const submitted = await gov(recovered, ws.member)(
      "/gov/v1/recovery/shares",
      "recovery_share",
      JSON.stringify({ share: share.stdout.trim() }),
    );
    assert.equal(submitted.status, 200, JSON.stringify(submitted.body));
    await waitFor(
      async () => (await reader.get("/gov/v1/recovery")).json().state?.status === "Restored",
      20_000,
      "Restored",
    ).catch((e: unknown) => {
      throw new Error(`${String(e)}\n${recovered.stderr().slice(-3000)}`);
    });
    for (const [id, msg] of expected)
      assert.deepEqual((await reader.get(`/app/log/private?id=${id}`)).json(), { id, msg }, `record ${id}`);
    const previous = (await reader.get("/gov/v1/service")).json().previous_identities;
    for (const r of receipts)
      await verifyReceipt({ ...(r as object), service_endorsements: previous }, recovered.serviceCert);
  } finally {
    reader.close();
  }

  // A normal restart decrypts the snapshot with the recovered secrets.
  await killNode(recovered, "SIGTERM");
  const again = await spawnCli(["start", "--config", recoveredConfig], certPath);
  recoveredNodes.push(again);
  const c = client(again, ws.user);
  try {
    for (const id of [0, 7, 30, 49])
      assert.deepEqual((await c.get(`/app/log/private?id=${id}`)).json(), { id, msg: expected.get(id) });
  } finally {
    c.close();
  }
  await killNode(again, "SIGTERM");
  const chain = runCli(["ledger", "verify", join(ws.dir, "recovered")]);
  assert.equal(chain.status, 0, chain.stdout + chain.stderr);
  // From the snapshot, across the new service identity and its endorsement of the old one.
  const report = await browserAgrees(join(ws.dir, "recovered"));
  assert.ok(report?.snapshot != null && report.serviceCertSource === "snapshot", JSON.stringify(report));
});

/**
 * The browser verifier (`verifyLedgerChunks`) over the files `coterie ledger verify DIR` reads
 * (the same chunks and snapshot): the CLI's JSON report, or its refusal word for word.
 */
async function browserAgrees(dir: string): Promise<LedgerVerifyReport | null> {
  const cli = runCli(["ledger", "verify", dir, "--json"]);
  const { ledgerDir, snapshot } = ledgerOnDisk(dir);
  const chunks = readdirSync(ledgerDir)
    .filter((name) => firstSeqnoOfChunk(name) !== null)
    .map((name) => ({ name, bytes: new Uint8Array(readFileSync(join(ledgerDir, name))) }));
  const options = snapshot === null ? {} : { snapshot: new Uint8Array(snapshot.bytes) };
  if (cli.status !== 0) {
    await assert.rejects(verifyLedgerChunks(chunks, options), (e: Error) => {
      assert.ok(cli.stderr.includes(e.message), `${e.message} not in: ${cli.stderr}`);
      return true;
    });
    return null;
  }
  const { ok: _, ...expected } = JSON.parse(cli.stdout);
  const report = await verifyLedgerChunks(chunks, options);
  assert.deepEqual(report, expected);
  return report;
}
