// Three node processes on loopback under a write load (docs/operations.md): SIGKILL the primary and
// a new one is elected within two election timeouts and writes resume; the killed node restarts and
// catches up; a backup paused with SIGSTOP (cut off) and resumed does not disrupt the primary;
// nothing reported committed is lost, every ledger verifies and all agree on the committed prefix.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { killNode, runCli } from "./harness.ts";
import { checkCommittedReadable, checkLedgersAgree } from "./multi-node-checks.ts";
import {
  electionTimeoutMs,
  findPrimary,
  isAlive,
  type Net,
  networkOf,
  spawnNode,
  startNetwork,
  stateOf,
  userClient,
  waitFor,
} from "./multi-node-harness.ts";
import { startLoad } from "./multi-node-load.ts";

/** Followers time out after a random [T, 2T) without a leader, then PreVote and Vote: two 2T windows. */
const newPrimaryWithinMs = 2 * (2 * electionTimeoutMs);

describe("three nodes", () => {
  let net: Net;
  before(async () => {
    net = await startNetwork(3);
  });
  after(async () => {
    for (const n of net.nodes) if (isAlive(n)) await killNode(n, "SIGKILL");
  });

  test("any node serves reads; a backup redirects writes (307, Location on the primary); /node/network is real", async () => {
    const primary = await findPrimary(net.nodes);
    assert.ok(primary !== null);
    const w = await userClient(primary, net.ws).post("/app/log/private?wait_for_commit=true", {
      id: 100_000,
      msg: "r",
    });
    assert.equal(w.status, 200, w.body);
    const view = await networkOf(primary);
    assert.equal(view.nodes.filter((n) => n.voter).length, 3);
    const pc = userClient(primary, net.ws);
    const metrics = await pc.get("/node/metrics");
    pc.close();
    assert.match(metrics.body, /^coterie_consensus_messages_sent_total\{type="MsgApp"\} [1-9]\d*$/m);
    assert.equal(view.nodes.filter((n) => n.primary).length, 1);
    for (const n of net.nodes.filter((x) => x !== primary)) {
      const c = userClient(n, net.ws);
      try {
        const s = await stateOf(n);
        assert.equal(s.role, "Backup");
        assert.equal(s.primary_id, view.primary_id);
        await waitFor(
          async () => (await c.get("/app/log/private?id=100000")).status === 200,
          5000,
          "read on a backup",
        );
        const r = await c.post("/app/log/private?x=1", { id: 100_001, msg: "no" });
        assert.equal(r.status, 307, r.body);
        assert.equal(r.headers.location, `${primary.url}/app/log/private?x=1`);
        assert.equal(r.json().error.code, "COTERIE_ERR_NOT_PRIMARY");
        const m = (await c.get("/node/metrics")).body;
        assert.match(m, /^coterie_consensus_messages_received_total\{type="MsgApp"\} [1-9]\d*$/m);
        assert.match(m, /^coterie_consensus_messages_sent_total\{type="MsgAppResp"\} [1-9]\d*$/m);
        assert.match(m, /^coterie_ledger_syncs_total\{kind="append"\} [1-9]\d*$/m);
      } finally {
        c.close();
      }
    }
  });

  test("SIGKILL the primary under load: new primary in two election timeouts, writes resume, nothing committed lost", async () => {
    const load = startLoad(net);
    await waitFor(() => load.committed.size >= 30, 15_000, "30 committed writes");
    const old = await findPrimary(net.nodes);
    assert.ok(old !== null);
    const oldView = (await stateOf(old)).view;
    const killedAt = Date.now();
    await killNode(old, "SIGKILL");
    let primary = null as Awaited<ReturnType<typeof findPrimary>>;
    await waitFor(async () => (primary = await findPrimary(net.nodes)) !== null, 10_000, "a new primary");
    const electedMs = Date.now() - killedAt;
    assert.ok(primary !== null && primary !== old);
    assert.ok((await stateOf(primary)).view > oldView, "the new primary is in a higher view");
    assert.ok(
      electedMs <= newPrimaryWithinMs,
      `new primary after ${electedMs} ms (limit ${newPrimaryWithinMs})`,
    );
    const before = load.committed.size;
    await waitFor(() => load.committed.size >= before + 30, 15_000, "writes resume on the new primary");

    // The killed node restarts from its ledger with its own identity and catches up.
    const restarted = await spawnNode(net.ws, old.index, old.configPath);
    net.nodes[old.index] = restarted;
    await load.stop();
    const target = (await stateOf(primary)).last_seqno;
    await waitFor(
      async () => (await stateOf(restarted)).last_seqno >= target,
      15_000,
      "restarted node catches up",
    );
    await checkCommittedReadable(net, load.committed);
  });

  test("a backup cut off (SIGSTOP) for several election timeouts and healed does not disrupt the primary", async () => {
    const primary = await findPrimary(net.nodes);
    assert.ok(primary !== null);
    const before = await stateOf(primary);
    const backup = net.nodes.find((n) => n !== primary && isAlive(n));
    assert.ok(backup !== undefined);
    const load = startLoad(net, 2);
    backup.child.kill("SIGSTOP");
    await new Promise((r) => setTimeout(r, 4 * electionTimeoutMs));
    const during = load.committed.size;
    backup.child.kill("SIGCONT");
    await new Promise((r) => setTimeout(r, 4 * electionTimeoutMs));
    await load.stop();
    assert.ok(during > 0, "the remaining majority kept committing while the backup was cut off");
    const after = await stateOf(primary);
    assert.equal(after.role, "Primary", "the primary is still primary");
    assert.equal(after.view, before.view, "no election happened (PreVote and CheckQuorum leases)");
    const target = after.last_seqno;
    await waitFor(
      async () => (await stateOf(backup)).last_seqno >= target,
      10_000,
      "healed backup catches up",
    );
    await checkCommittedReadable(net, load.committed);
  });

  test("a primary paused (SIGSTOP) past the election timeout is replaced; resumed, it rolls back and follows", async () => {
    const old = await findPrimary(net.nodes);
    assert.ok(old !== null);
    const oldState = await stateOf(old);
    const load = startLoad(net, 4);
    try {
      await waitFor(() => load.committed.size >= 10, 15_000, "writes");
      old.child.kill("SIGSTOP");
      let primary = null as Awaited<ReturnType<typeof findPrimary>>;
      await waitFor(
        async () => (primary = await findPrimary(net.nodes.filter((n) => n !== old))) !== null,
        10_000,
        "a new primary while the old one is paused",
      );
      const count = load.committed.size;
      await waitFor(() => load.committed.size >= count + 20, 15_000, "writes commit on the new primary");
      // Resumed, the old primary still believes it leads until it hears the higher view: whatever it
      // appends meanwhile is rolled back by the new primary's entries.
      old.child.kill("SIGCONT");
      // It may step down in its own view first (it heard from no quorum while paused), and only
      // then hear the new view: wait for both rather than check the view at the first Backup.
      await waitFor(
        async () => {
          const s = await stateOf(old);
          return s.role === "Backup" && s.view > oldState.view;
        },
        10_000,
        "the old primary steps down and follows the new view",
      );
      const target = (await stateOf(primary!)).last_seqno;
      await waitFor(
        async () => (await stateOf(old)).last_seqno >= target,
        10_000,
        "the old primary catches up",
      );
    } finally {
      old.child.kill("SIGCONT");
      await load.stop();
    }
    await checkCommittedReadable(net, load.committed);
  });

  test("every ledger verifies and all agree on the committed prefix", async () => {
    const primary = await findPrimary(net.nodes);
    assert.ok(primary !== null);
    const committed = Number((await stateOf(primary)).committed_transaction_id.split(".")[1]);
    await waitFor(
      async () => {
        for (const n of net.nodes)
          if (Number((await stateOf(n)).committed_transaction_id.split(".")[1]) < committed) return false;
        return true;
      },
      10_000,
      "every node knows the commit",
    );
    for (const n of net.nodes) await killNode(n, "SIGTERM");
    for (const n of net.nodes) {
      const r = runCli(["ledger", "verify", `${n.dataDir}/ledger`, "--service-cert", net.serviceCertPath]);
      assert.equal(r.status, 0, `node ${n.index}: ${r.stdout}${r.stderr}`);
    }
    checkLedgersAgree(net, committed);
  });
});
