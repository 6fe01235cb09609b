// Disaster recovery end to end on one node (the 3-node variant needs the multi-node network):
// three members with RSA encryption keys, recovery threshold 2 of 3 set by vote, private records
// written across a governance rekey, the node SIGKILLed; `coterie recover start` picks the ledger,
// starts a new service identity; the members open it by vote and submit decrypted shares (a wrong,
// a duplicated and an early share are refused without counting); at 2 shares every private record
// is readable again, receipts issued before the disaster verify through `previous_identities`, and
// the recovered node restarts normally with its data.
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { ensureIdentityFiles, type IdentityFiles } from "../../src/cli/identity-files.ts";
import { verifyServedCoseReceipt } from "../../src/crypto/cose-receipt.ts";
import { verifyReceipt } from "../../src/crypto/receipt.ts";
import { client, killNode, makeWorkspace, runCli, spawnCli, startNodeProcess } from "./harness.ts";
import { ack, encryptionKey, gov, pass } from "./members-harness.ts";

const RECORDS = 24;

type Member = IdentityFiles & { encKeyPath: string; encPublicPem: string };

async function members(dir: string): Promise<Member[]> {
  const out: Member[] = [];
  for (const name of ["member0", "member1", "member2"]) {
    const files = await ensureIdentityFiles(dir, name);
    const key = encryptionKey(dir, name, "rsa");
    out.push({ ...files, encKeyPath: key.path, encPublicPem: key.publicPem });
  }
  return out;
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const v = await probe();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

test("disaster recovery of one node: 2 of 3 shares bring every private record back", {
  timeout: 120_000,
}, async () => {
  const ws = await makeWorkspace();
  const ms = await members(ws.dir);
  const config = JSON.parse(readFileSync(ws.configPath, "utf8"));
  config.genesis.members = ms.map((m, i) => ({
    cert: `member${i}_cert.pem`,
    encryption_public_key: m.encPublicPem,
  }));
  writeFileSync(ws.configPath, JSON.stringify(config));
  const node = await startNodeProcess(ws);
  for (const m of ms) await ack(node, m);
  await pass(node, ms.slice(0, 2), [{ name: "set_recovery_threshold", args: { threshold: 2 } }]);
  const user = client(node, ws.user);
  const receipts: unknown[] = [];
  for (let i = 0; i < RECORDS; i++) {
    if (i === RECORDS / 2) await pass(node, ms.slice(1, 3), [{ name: "trigger_ledger_rekey" }]);
    const w = await user.post(`/app/log/private${i % 6 === 0 ? "?wait_for_commit=true" : ""}`, {
      id: i,
      msg: `secret ${i}`,
    });
    assert.equal(w.status, 200, w.body);
    if (i % 6 === 0) receipts.push(w.json().receipt);
  }
  await until("shares for 2 of 3 after the rekey", async () => {
    const r = (await user.get("/gov/v1/recovery")).json();
    return r.threshold === 2 ? r : undefined;
  });
  await new Promise((r) => setTimeout(r, 300)); // the rekey's reissued shares are committed
  user.close();
  const oldCert = node.serviceCert;
  await killNode(node);

  // An operator recovers from the surviving directory (and an empty one, which is refused).
  const chosen = runCli(["recover", "choose", "--from", join(ws.dir, "node0"), "--from", ws.dir]);
  assert.equal(chosen.status, 0, chosen.stderr);
  assert.match(chosen.stdout, /chosen: .*node0/);
  const recoveredConfig = join(ws.dir, "recovered.config.json");
  writeFileSync(recoveredConfig, JSON.stringify({ ...config, dataDir: "recovered" }));
  let recovered = await spawnCli(
    ["recover", "start", "--config", recoveredConfig, "--from", join(ws.dir, "node0")],
    join(ws.dir, "recovered", "service_cert.pem"),
  );
  try {
    assert.notEqual(recovered.serviceCert, oldCert, "a new service identity");
    const shareOf = (m: Member) => {
      const r = runCli([
        "recover",
        "decrypt-share",
        "--key",
        m.encKeyPath,
        "--ledger",
        join(ws.dir, "node0", "ledger"),
        "--member-cert",
        m.certPath,
      ]);
      assert.equal(r.status, 0, r.stderr);
      return r.stdout.trim();
    };
    const submit = (m: Member, share: string) =>
      gov(recovered, m)("/gov/v1/recovery/shares", "recovery_share", JSON.stringify({ share }));
    const share0 = shareOf(ms[0] as Member);
    assert.equal((await submit(ms[0] as Member, share0)).body.error.code, "COTERIE_ERR_RECOVERY_NOT_OPEN");
    await pass(recovered, ms.slice(0, 2), [{ name: "transition_service_to_open" }]);
    let reader = client(recovered, ws.user);
    assert.notEqual(
      (await reader.get("/app/log/private?id=1")).status,
      200,
      "closed until the shares are in",
    );
    assert.equal((await submit(ms[1] as Member, share0)).body.error.code, "COTERIE_ERR_RECOVERY_WRONG_SHARE");
    assert.equal((await submit(ms[0] as Member, share0)).body.accepted, 1);
    assert.equal(
      (await submit(ms[0] as Member, share0)).body.error.code,
      "COTERIE_ERR_RECOVERY_DUPLICATE_SHARE",
    );
    const status = (await reader.get("/gov/v1/recovery")).json();
    assert.deepEqual(
      [status.state.status, status.accepted],
      ["AwaitingShares", 1],
      "one share changes nothing",
    );
    // A crash of the recovering node loses the accepted share (it was only in memory): after a
    // normal restart it still awaits shares, keeps the application closed, and takes it again.
    reader.close();
    await killNode(recovered);
    recovered = await spawnCli(
      ["start", "--config", recoveredConfig],
      join(ws.dir, "recovered", "service_cert.pem"),
    );
    reader = client(recovered, ws.user);
    const resumed = (await reader.get("/gov/v1/recovery")).json();
    assert.deepEqual([resumed.state.status, resumed.accepted], ["AwaitingShares", 0]);
    assert.notEqual((await reader.get("/app/log/private?id=1")).status, 200);
    assert.equal((await submit(ms[0] as Member, share0)).body.accepted, 1);
    const cliSubmit = runCli([
      "recover",
      "submit-share",
      "--url",
      recovered.url,
      "--service-cert",
      join(ws.dir, "recovered", "service_cert.pem"),
      "--cert",
      (ms[2] as Member).certPath,
      "--key",
      (ms[2] as Member).keyPath,
      "--share",
      shareOf(ms[2] as Member),
    ]);
    assert.equal(cliSubmit.status, 0, cliSubmit.stdout + cliSubmit.stderr);
    await until("Restored", async () =>
      (await reader.get("/gov/v1/recovery")).json().state?.status === "Restored" ? true : undefined,
    );
    for (let i = 0; i < RECORDS; i++)
      assert.deepEqual((await reader.get(`/app/log/private?id=${i}`)).json(), { id: i, msg: `secret ${i}` });
    const service = (await reader.get("/gov/v1/service")).json();
    assert.equal(service.previous_identities.length, 1);
    for (const r of receipts) {
      await assert.rejects(verifyReceipt(r, recovered.serviceCert), {
        code: "COTERIE_ERR_RECEIPT_CERT_NOT_ENDORSED",
      });
      const { transactionId } = await verifyReceipt(
        { ...(r as object), service_endorsements: service.previous_identities },
        recovered.serviceCert,
      );
      // The recovered node serves receipts of old transactions with the chain included.
      const served = await reader.get(`/app/receipt?transaction_id=${transactionId}`);
      assert.equal(served.status, 200, served.body);
      assert.equal((await verifyReceipt(served.json(), recovered.serviceCert)).transactionId, transactionId);
      // The COSE form is signed by the recovered node, so it verifies against the new certificate
      // alone, and not against the old one.
      const cose = await reader.get(`/app/receipt?transaction_id=${transactionId}&format=cose`);
      assert.equal(cose.status, 200, cose.body);
      assert.equal(
        (await verifyServedCoseReceipt(cose.json(), recovered.serviceCert)).transactionId,
        transactionId,
      );
      await assert.rejects(verifyServedCoseReceipt(cose.json(), oldCert), {
        code: "COTERIE_ERR_RECEIPT_CERT_NOT_ENDORSED",
      });
    }
    const w = await reader.post("/app/log/private", { id: 100, msg: "after" });
    assert.equal(w.status, 200, w.body);
    reader.close();
  } finally {
    await killNode(recovered, "SIGTERM");
  }
  // The recovered node restarts normally: its sealed identity now holds the recovered secrets.
  const again = await spawnCli(
    ["start", "--config", recoveredConfig],
    join(ws.dir, "recovered", "service_cert.pem"),
  );
  try {
    const c = client(again, ws.user);
    for (const i of [0, RECORDS - 1, 100])
      assert.equal((await c.get(`/app/log/private?id=${i}`)).json().id, i, again.stderr());
    c.close();
  } finally {
    await killNode(again, "SIGTERM");
  }
  // The ledger spanning the recovery verifies (the new identity endorses the old one), so a second
  // disaster can be recovered from it too; a forged identity change is refused.
  const recoveredLedger = join(ws.dir, "recovered", "ledger");
  const verified = runCli(["ledger", "verify", recoveredLedger]);
  assert.equal(verified.status, 0, verified.stdout + verified.stderr);
  const audit = runCli(["gov", "audit", recoveredLedger]);
  assert.equal(audit.status, 0, audit.stdout + audit.stderr);
  const chosenAgain = runCli(["recover", "choose", "--from", join(ws.dir, "recovered")]);
  assert.equal(chosenAgain.status, 0, chosenAgain.stdout + chosenAgain.stderr);
  const pinnedOld = runCli([
    "ledger",
    "verify",
    recoveredLedger,
    "--service-cert",
    join(ws.dir, "node0", "service_cert.pem"),
  ]);
  assert.notEqual(pinnedOld.status, 0, "a pinned certificate is never replaced by one the ledger names");
});
