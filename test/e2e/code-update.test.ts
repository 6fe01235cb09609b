// The code-update procedure of docs/operations.md, end to end, with writes committing throughout:
// allow the new build's measurement, join nodes running it (trusted by vote), retire the nodes
// running the old build (the primary last), disallow the old measurement, and show that a node
// still running the old build is then refused. "Another build" is a virtual node claiming another
// code identity (COTERIE_VIRTUAL_CODE_ID), which is all a measurement is on the virtual platform.
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { virtualMeasurement } from "../../src/attestation/index.ts";
import { CODE_ID } from "../../src/node/code-id.ts";
import { client, killNode, runCli } from "./harness.ts";
import {
  findPrimary,
  isAlive,
  joinerConfig,
  type Net,
  type NetNode,
  networkOf,
  proposeAndAccept,
  spawnNode,
  startNetwork,
  userClient,
  waitFor,
} from "./multi-node-harness.ts";

const V2 = "coterie/0.2.0-code-update-test";
const measurement = (codeId: string) => virtualMeasurement(new TextEncoder().encode(codeId));

/** Writers that wait for commit against whichever node is primary; counts what committed. */
function startLoad(net: Net) {
  let stop = false;
  const committed = new Set<number>();
  let next = 0;
  const writer = async () => {
    while (!stop) {
      const primary = await findPrimary(net.nodes.filter(isAlive)).catch(() => null);
      if (primary === null) {
        await new Promise((r) => setTimeout(r, 50));
        continue;
      }
      const c = userClient(primary, net.ws);
      const id = next++;
      try {
        const r = await c.post("/app/log/private?wait_for_commit=true", { id, msg: `m${id}` });
        if (r.status === 200) committed.add(id);
      } catch {
        // a node retiring or a connection cut: try the next primary
      } finally {
        c.close();
      }
    }
  };
  const running = Promise.all(Array.from({ length: 4 }, writer));
  return {
    committed,
    async stop() {
      stop = true;
      await running;
    },
  };
}

async function trustPending(primary: NetNode, net: Net): Promise<string> {
  let pending: string | undefined;
  await waitFor(
    async () => {
      pending = (await networkOf(primary)).nodes.find((n) => n.status === "Pending")?.node_id;
      return pending !== undefined;
    },
    20_000,
    "the new-build joiner is recorded Pending",
  );
  const state = await proposeAndAccept(primary, net.ws, [
    { name: "transition_node_to_trusted", args: { node_id: pending } },
  ]);
  assert.equal(state, "Accepted");
  await waitFor(
    async () => (await networkOf(primary)).nodes.some((n) => n.node_id === pending && n.voter),
    20_000,
    "the new-build node is a voter",
  );
  return pending as string;
}

test("code update: allow v2, add v2 nodes, retire the v1 nodes, disallow v1; committing throughout", async () => {
  const net = await startNetwork(2);
  const load = startLoad(net);
  const progressed = async (what: string) => {
    const n = load.committed.size;
    await waitFor(() => load.committed.size >= n + 10, 20_000, `writes commit after: ${what}`);
  };
  try {
    await progressed("start");
    let primary = (await findPrimary(net.nodes)) as NetNode;
    const v1Nodes = (await networkOf(primary)).nodes.map((n) => n.node_id);

    // 1. Allow the new measurement.
    assert.equal(
      await proposeAndAccept(primary, net.ws, [
        { name: "add_code_measurement", args: { measurement: measurement(V2) } },
      ]),
      "Accepted",
    );
    await progressed("allowing v2");

    // 2. Add two nodes running the new build; governance trusts each.
    const v2Nodes: string[] = [];
    for (const index of [2, 3]) {
      const joining = spawnNode(net.ws, index, joinerConfig(net, index, primary.url), 30_000, {
        COTERIE_VIRTUAL_CODE_ID: V2,
      });
      v2Nodes.push(await trustPending(primary, net));
      net.nodes.push(await joining);
      await progressed(`adding v2 node ${index}`);
    }

    // 3. Retire the old nodes, the backup first, then the primary (leadership moves to v2).
    const primaryId = (await networkOf(primary)).primary_id as string;
    for (const id of [...v1Nodes.filter((i) => i !== primaryId), primaryId]) {
      primary = (await findPrimary(net.nodes.filter(isAlive))) as NetNode;
      assert.equal(
        await proposeAndAccept(primary, net.ws, [{ name: "remove_node", args: { node_id: id } }]),
        "Accepted",
      );
      await waitFor(
        async () => {
          const p = await findPrimary(net.nodes.filter(isAlive));
          return p !== null && !(await networkOf(p)).nodes.some((n) => n.node_id === id && n.voter);
        },
        20_000,
        `v1 node ${id.slice(0, 8)} retired`,
      );
      await progressed(`retiring ${id.slice(0, 8)}`);
    }
    primary = (await findPrimary(net.nodes.filter(isAlive))) as NetNode;
    const voters = (await networkOf(primary)).nodes.filter((n) => n.voter).map((n) => n.node_id);
    assert.deepEqual(voters.sort(), [...v2Nodes].sort(), "only new-build nodes remain voters");

    // 4. Disallow the old measurement; a node still running the old build can no longer join.
    assert.equal(
      await proposeAndAccept(primary, net.ws, [
        { name: "remove_code_measurement", args: { measurement: measurement(CODE_ID) } },
      ]),
      "Accepted",
    );
    await progressed("disallowing v1");
    // The joiner keeps retrying (a refused node may be allowed later); it must not get in.
    const old = spawnNode(net.ws, 4, joinerConfig(net, 4, primary.url), 5_000);
    await assert.rejects(
      old,
      /COTERIE_ERR_ATTESTATION_MEASUREMENT_NOT_ALLOWED/,
      "an old-build joiner does not get in",
    );
    const anon = client(primary, null);
    const refusals = (await anon.get("/gov/v1/nodes")).json().join_refusals as Array<{ code: string }>;
    anon.close();
    assert.ok(
      refusals.some((r) => r.code === "COTERIE_ERR_ATTESTATION_MEASUREMENT_NOT_ALLOWED"),
      "the refusal is recorded for the members",
    );
  } finally {
    await load.stop();
    for (const n of net.nodes) await killNode(n, "SIGKILL");
  }
  assert.ok(load.committed.size > 60, `writes committed throughout (${load.committed.size})`);
  for (const n of net.nodes) {
    const r = runCli(["ledger", "verify", join(n.dataDir, "ledger"), "--service-cert", net.serviceCertPath]);
    assert.equal(r.status, 0, r.stderr);
  }
});
