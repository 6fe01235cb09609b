// Five node processes under a write load: SIGKILL the primary (new primary within two election
// timeouts, nothing committed lost); a backup killed and restarted catches up; a node joins while
// the service is open (Pending until governance trusts it), the primary and then a backup retire,
// both under load, and commit never stops for longer than an election; each retired node then
// refuses reads (410) instead of serving its frozen state. Ledgers verify and agree.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { killNode, runCli } from "./harness.ts";
import { checkCommittedReadable, checkLedgersAgree, type RetiredNode } from "./multi-node-checks.ts";
import {
  electionTimeoutMs,
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
import { longestCommitGap, startLoad } from "./multi-node-load.ts";

const newPrimaryWithinMs = 2 * (2 * electionTimeoutMs);
/** An election: the longest randomized timeout plus a PreVote and a Vote round, plus one signature. */
const electionMs = 2 * electionTimeoutMs + 500;

describe("five nodes", () => {
  let net: Net;
  /** Retired nodes' ledgers are compared with the others up to what each knew was committed. */
  const retired: RetiredNode[] = [];
  before(async () => {
    net = await startNetwork(5);
  });
  after(async () => {
    for (const n of net.nodes) if (isAlive(n)) await killNode(n, "SIGKILL");
  });

  test("SIGKILL the primary, then a backup; new primary in time, the backup restarts and catches up", async () => {
    const load = startLoad(net);
    try {
      await killPrimaryThenBackup(load);
    } finally {
      await load.stop();
    }
    await checkCommittedReadable(net, load.committed);
  });

  async function killPrimaryThenBackup(load: ReturnType<typeof startLoad>): Promise<void> {
    await waitFor(() => load.committed.size >= 30, 15_000, "30 committed writes");
    const old = await findPrimary(net.nodes);
    assert.ok(old !== null);
    const killedAt = Date.now();
    await killNode(old, "SIGKILL");
    let primary = null as Awaited<ReturnType<typeof findPrimary>>;
    await waitFor(async () => (primary = await findPrimary(net.nodes)) !== null, 10_000, "a new primary");
    const electedMs = Date.now() - killedAt;
    assert.ok(
      electedMs <= newPrimaryWithinMs,
      `new primary after ${electedMs} ms (limit ${newPrimaryWithinMs})`,
    );
    const count = load.committed.size;
    await waitFor(() => load.committed.size >= count + 30, 15_000, "writes resume");

    const backup = net.nodes.find((n) => n !== primary && isAlive(n));
    assert.ok(backup !== undefined && primary !== null);
    await killNode(backup, "SIGKILL");
    const count2 = load.committed.size;
    await waitFor(() => load.committed.size >= count2 + 30, 15_000, "writes continue with two nodes down");
    net.nodes[old.index] = await spawnNode(net.ws, old.index, old.configPath);
    const restarted = await spawnNode(net.ws, backup.index, backup.configPath);
    net.nodes[backup.index] = restarted;
    const target = (await stateOf(primary)).last_seqno;
    await waitFor(
      async () => (await stateOf(restarted)).last_seqno >= target,
      15_000,
      "restarted backup catches up",
    );
  }

  test("join a node (Pending, then trusted by governance), retire the primary, then a backup, under load", async () => {
    const load = startLoad(net);
    try {
      await joinAndRetire(load);
    } finally {
      await load.stop();
    }
    await checkCommittedReadable(net, load.committed, retired);
  });

  async function joinAndRetire(load: ReturnType<typeof startLoad>): Promise<void> {
    await waitFor(() => load.committed.size >= 20, 15_000, "writes");
    const from = Date.now();
    const events: Array<[string, number]> = [];
    let primary = await findPrimary(net.nodes);
    assert.ok(primary !== null);
    const index = net.nodes.length;
    const joining = spawnNode(net.ws, index, joinerConfig(net, index, primary.url));
    let pending: string | undefined;
    await waitFor(
      async () => {
        pending = (await networkOf(primary!)).nodes.find((n) => n.status === "Pending")?.node_id;
        return pending !== undefined;
      },
      15_000,
      "the joiner is recorded Pending (the service is open)",
    );
    assert.equal(
      await proposeAndAccept(primary, net.ws, [
        { name: "transition_node_to_trusted", args: { node_id: pending } },
      ]),
      "Accepted",
    );
    events.push(["trusted", Date.now()]);
    const joined = await joining;
    events.push(["joined", Date.now()]);
    net.nodes.push(joined);
    await waitFor(
      async () => (await networkOf(primary!)).nodes.some((n) => n.node_id === pending && n.voter),
      15_000,
      "joiner is a voter",
    );
    events.push(["voter", Date.now()]);
    const goal = (await stateOf(primary)).last_seqno;
    await waitFor(async () => (await stateOf(joined)).last_seqno >= goal, 15_000, "joiner caught up");

    // Retire the primary itself: it leads until the reconfiguration commits, then steps down.
    events.push(["caught-up", Date.now()]);
    const retiringNode = primary;
    const retiring = (await stateOf(primary)).node_id;
    assert.equal(
      await proposeAndAccept(primary, net.ws, [{ name: "remove_node", args: { node_id: retiring } }]),
      "Accepted",
    );
    events.push(["retire-accepted", Date.now()]);
    await waitFor(
      async () => {
        const p = await findPrimary(net.nodes);
        if (p === null || (await stateOf(p)).node_id === retiring) return false;
        primary = p;
        return !(await networkOf(p)).nodes.some((n) => n.node_id === retiring && n.voter);
      },
      15_000,
      "a new primary without the retired node",
    );
    events.push(["new-primary", Date.now()]);
    const count = load.committed.size;
    await waitFor(() => load.committed.size >= count + 30, 15_000, "writes continue after the retirement");
    await refusesAsRetired(retiringNode);
    retired.push({
      index: net.nodes.indexOf(retiringNode),
      committed: Number((await stateOf(retiringNode)).committed_transaction_id.split(".")[1]),
    });

    // Retire a backup as well: it leaves the configuration, the others carry on.
    const current = primary as (typeof net.nodes)[number];
    const backup = net.nodes.find(
      (n, i) => n !== current && isAlive(n) && !retired.some((r) => r.index === i),
    );
    assert.ok(backup !== undefined);
    const backupId = (await stateOf(backup)).node_id;
    assert.equal(
      await proposeAndAccept(current, net.ws, [{ name: "remove_node", args: { node_id: backupId } }]),
      "Accepted",
    );
    events.push(["retire-backup-accepted", Date.now()]);
    await waitFor(
      async () => !(await networkOf(current)).nodes.some((n) => n.node_id === backupId && n.voter),
      15_000,
      "the retired backup is no longer a voter",
    );
    const count2 = load.committed.size;
    await waitFor(
      () => load.committed.size >= count2 + 30,
      15_000,
      "writes continue after retiring a backup",
    );
    await refusesAsRetired(backup);
    retired.push({
      index: net.nodes.indexOf(backup),
      committed: Number((await stateOf(backup)).committed_transaction_id.split(".")[1]),
    });
    const to = Date.now();
    const gap = longestCommitGap(load.commitTimes, from, to);
    const timeline = events.map(([what, t]) => `${what}@${t - from}`).join(", ");
    assert.ok(
      gap.gapMs <= electionMs,
      `commit stopped for ${gap.gapMs} ms from +${gap.atMs} ms (limit: one election, ${electionMs} ms); ${timeline}`,
    );
  }

  /**
   * A retired node's state stopped when it left: it answers reads (and every other request outside
   * /node/) with 410 COTERIE_ERR_NODE_RETIRED, and /node/ready with 503, rather than stale data.
   */
  async function refusesAsRetired(node: (typeof net.nodes)[number]): Promise<void> {
    const c = userClient(node, net.ws);
    let last = "";
    await waitFor(
      async () => {
        const r = await c.get("/app/log/private?id=1");
        last = `${r.status} ${r.body}`;
        return r.status === 410;
      },
      5_000,
      "the retired node refuses reads",
    ).catch((error: Error) => assert.fail(`${error.message}; last answer: ${last}`));
    const read = await c.get("/app/log/private?id=1");
    assert.equal(read.json().error.code, "COTERIE_ERR_NODE_RETIRED");
    assert.equal((await c.get("/app/tx?transaction_id=2.1")).status, 410);
    const ready = await c.get("/node/ready");
    assert.equal(ready.status, 503);
    assert.equal(ready.json().retired, true);
    assert.equal((await c.get("/node/state")).status, 200, "its own routes still answer");
  }

  test("every ledger verifies and all agree on the committed prefix", async () => {
    const primary = await findPrimary(net.nodes);
    assert.ok(primary !== null);
    const committed = Number((await stateOf(primary)).committed_transaction_id.split(".")[1]);
    const seqnoOf = async (n: (typeof net.nodes)[number]) =>
      Number((await stateOf(n)).committed_transaction_id.split(".")[1]);
    const isRetired = (i: number) => retired.some((r) => r.index === i);
    for (const n of net.nodes.filter((_, i) => !isRetired(i))) {
      await waitFor(async () => (await seqnoOf(n)) >= committed, 10_000, `node ${n.index} learns the commit`);
    }
    for (const n of net.nodes) if (isAlive(n)) await killNode(n, "SIGTERM");
    for (const n of net.nodes) {
      const r = runCli(["ledger", "verify", `${n.dataDir}/ledger`, "--service-cert", net.serviceCertPath]);
      assert.equal(r.status, 0, `node ${n.index}: ${r.stdout}${r.stderr}`);
    }
    // The retired node stopped receiving entries once out of the configuration.
    const active = net.nodes.filter((_, i) => !isRetired(i));
    checkLedgersAgree({ ...net, nodes: active }, committed);
    for (const r of retired)
      checkLedgersAgree(
        { ...net, nodes: [...active, net.nodes[r.index]!] },
        Math.min(committed, r.committed),
      );
  });
});
