// The disaster test of issue 6 on a real 3-node network: members with RSA and EC encryption keys,
// threshold 2 of 3, private records written across a rekey (backups learn the new secret and serve
// reads), all three nodes SIGKILLed; `coterie recover start` picks the longest of the three ledgers,
// member0 opens the recovered service, member1 and member2 submit their shares (2 of 3), every
// private record is readable again and receipts issued before the disaster verify through the
// recorded endorsement of the previous service identity.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { ensureIdentityFiles, type IdentityFiles } from "../../src/cli/identity-files.ts";
import { verifyReceipt } from "../../src/crypto/receipt.ts";
import { client, killNode, type NodeProcess, runCli, spawnCli } from "./harness.ts";
import { encryptionKey, gov, pass } from "./members-harness.ts";
import {
  findPrimary,
  isAlive,
  proposeAndAccept,
  startNetwork,
  userClient,
  waitFor,
} from "./multi-node-harness.ts";

const RECORDS = 30;

test("3 nodes, all killed, recovered from the ledger directories with 2 of 3 shares", {
  timeout: 180_000,
}, async () => {
  const keys = mkdtempSync(join(tmpdir(), "coterie-recovery-keys-"));
  const m1 = await ensureIdentityFiles(keys, "member1");
  const m2 = await ensureIdentityFiles(keys, "member2");
  const enc = [
    encryptionKey(keys, "member0", "rsa"),
    encryptionKey(keys, "member1", "ec"),
    encryptionKey(keys, "member2", "rsa"),
  ];
  const net = await startNetwork(3, {
    genesis: {
      members: [
        { cert: "member0_cert.pem", encryption_public_key: enc[0]?.publicPem },
        { cert: readFileSync(m1.certPath, "utf8"), encryption_public_key: enc[1]?.publicPem },
        { cert: readFileSync(m2.certPath, "utf8"), encryption_public_key: enc[2]?.publicPem },
      ],
      users: [{ cert: "user0_cert.pem" }],
      open: false,
    },
  });
  const ws = net.ws;
  const members = [ws.member, m1, m2];
  let recovered: NodeProcess | null = null;
  try {
    const primary = await findPrimary(net.nodes);
    assert.ok(primary);
    assert.equal(
      await proposeAndAccept(primary, ws, [{ name: "set_recovery_threshold", args: { threshold: 2 } }]),
      "Accepted",
    );
    const user = userClient(primary, ws);
    const receipts: unknown[] = [];
    for (let i = 0; i < RECORDS; i++) {
      if (i === RECORDS / 2)
        assert.equal(await proposeAndAccept(primary, ws, [{ name: "trigger_ledger_rekey" }]), "Accepted");
      const w = await user.post(`/app/log/private${i % 5 === 0 ? "?wait_for_commit=true" : ""}`, {
        id: i,
        msg: `secret ${i}`,
      });
      assert.equal(w.status, 200, w.body);
      if (i % 5 === 0) receipts.push(w.json().receipt);
    }
    // Backups learned the new secret from the replicated rekey: they serve the newest records.
    for (const n of net.nodes.filter((x) => x !== primary)) {
      const c = userClient(n, ws);
      await waitFor(
        async () => (await c.get(`/app/log/private?id=${RECORDS - 1}`)).status === 200,
        10_000,
        "backup read",
      );
      c.close();
    }
    await waitFor(
      async () => (await user.get("/gov/v1/recovery")).json().threshold === 2,
      10_000,
      "2-of-3 shares",
    );
    await new Promise((r) => setTimeout(r, 300));
    user.close();
    for (const n of net.nodes) await killNode(n);

    const from = net.nodes.flatMap((n) => ["--from", n.dataDir]);
    const config = JSON.parse(readFileSync(ws.configPath, "utf8"));
    delete config.nodeToNode;
    delete config.consensus;
    const recoveredConfig = join(ws.dir, "recovered.config.json");
    writeFileSync(recoveredConfig, JSON.stringify({ ...config, dataDir: "recovered" }));
    recovered = await spawnCli(
      ["recover", "start", "--config", recoveredConfig, ...from],
      join(ws.dir, "recovered", "service_cert.pem"),
    );
    assert.match(recovered.stderr(), /chosen: /);
    const node = recovered;
    // member0 (the only Active member) opens it; member1 and member2 bring their shares.
    await pass(node, [ws.member], [{ name: "transition_service_to_open" }]);
    for (const i of [1, 2]) {
      const m = members[i] as IdentityFiles;
      const share = runCli([
        "recover",
        "decrypt-share",
        "--key",
        enc[i]?.path as string,
        "--ledger",
        join(net.nodes[0]?.dataDir as string, "ledger"),
        "--member-cert",
        m.certPath,
      ]);
      assert.equal(share.status, 0, share.stderr);
      const r = await gov(node, m)(
        "/gov/v1/recovery/shares",
        "recovery_share",
        JSON.stringify({ share: share.stdout.trim() }),
      );
      assert.equal(r.status, 200, JSON.stringify(r.body));
    }
    const reader = client(node, ws.user);
    await waitFor(
      async () => (await reader.get("/gov/v1/recovery")).json().state?.status === "Restored",
      15_000,
      "Restored",
    ).catch((e: unknown) => {
      throw new Error(`${String(e)}\n${node.stderr().slice(-3000)}`);
    });
    for (let i = 0; i < RECORDS; i++)
      assert.deepEqual((await reader.get(`/app/log/private?id=${i}`)).json(), { id: i, msg: `secret ${i}` });
    const previous = (await reader.get("/gov/v1/service")).json().previous_identities;
    for (const r of receipts)
      await verifyReceipt({ ...(r as object), service_endorsements: previous }, node.serviceCert);
    reader.close();
  } finally {
    // killNode waits for an exit that already happened when a node was SIGKILLed before: skip those.
    for (const n of net.nodes.filter(isAlive)) await killNode(n);
    if (recovered) await killNode(recovered, "SIGTERM");
  }
});
