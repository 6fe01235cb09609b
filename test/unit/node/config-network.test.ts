// The multi-node sections of the node configuration: defaults, a join needs nodeToNode and an
// https target, and the channel limits are related to the ledger's (one maximal entry per frame).
import assert from "node:assert/strict";
import { test } from "node:test";
import { validateConfig } from "../../../src/node/config.ts";

test("a single node has no network sections; a network node gets the consensus defaults", () => {
  const single = validateConfig({ dataDir: "d" });
  assert.equal(single.nodeToNode, null);
  assert.equal(single.join, null);
  const node = validateConfig({ dataDir: "d", nodeToNode: { port: 9000 } });
  assert.deepEqual(node.nodeToNode, { host: "127.0.0.1", port: 9000 });
  assert.equal(node.consensus.electionTimeoutTicks, 10);
  const joiner = validateConfig({ dataDir: "d", nodeToNode: {}, join: { target: "https://10.0.0.1:8000" } });
  assert.deepEqual(joiner.join, { target: "https://10.0.0.1:8000", serviceCertificate: null, pollMs: 500 });
});

test("nonsense in the network sections is refused with the field named", () => {
  const bad = (input: Record<string, unknown>, field: RegExp) =>
    assert.throws(() => validateConfig({ dataDir: "d", ...input }), field);
  bad({ join: { target: "https://a:1" } }, /join: needs nodeToNode/);
  bad({ nodeToNode: {}, join: { target: "http://a:1" } }, /join.target/);
  bad({ nodeToNode: {}, join: { target: "https://a:1", extra: 1 } }, /join.extra: unknown field/);
  bad({ nodeToNode: { port: 70_000 } }, /nodeToNode.port/);
  bad({ nodeToNode: {}, consensus: { heartbeatIntervalTicks: 10 } }, /heartbeatIntervalTicks/);
  bad({ nodeToNode: {}, channels: { frameBytesMax: 1024 } }, /channels.frameBytesMax/);
  bad({ nodeToNode: {}, channels: { queueBytesMax: 1024 } }, /channels.queueBytesMax/);
  bad({ nodeToNode: {}, channels: { reconnectMsMin: 100, reconnectMsMax: 50 } }, /reconnectMsMax/);
});
