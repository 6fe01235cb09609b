// A network node's ports configured as 0 are chosen once and kept; a port chosen now stays bound
// until the server that will use it is about to listen, so no other process can take it meanwhile.
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { test } from "node:test";
import { validateConfig } from "../../../src/node/config.ts";
import { pinAddresses } from "../../../src/node/network.ts";
import { tempDir } from "../ledger/helpers.ts";

/** Listens on `port` and closes again; resolves with the error code, or null when it could listen. */
function tryListen(port: number): Promise<string | null> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? "error"));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(null)));
  });
}

test("ports chosen for 0 are held until released, then kept across a restart", async () => {
  const dataDir = tempDir();
  const fields = { dataDir, rpc: { port: 0 }, nodeToNode: { port: 0 } };
  const config = validateConfig(fields);
  const held = await pinAddresses(config);
  assert.ok(held.rpc !== null && held.nodeToNode !== null);
  assert.equal(held.rpc.port, config.rpc.port);
  assert.equal(held.nodeToNode.port, config.nodeToNode?.port);
  assert.notEqual(config.rpc.port, config.nodeToNode?.port);
  // Nobody else can take them while the node starts.
  assert.equal(await tryListen(config.rpc.port), "EADDRINUSE");
  assert.equal(await tryListen(config.nodeToNode?.port ?? 0), "EADDRINUSE");
  await held.rpc.release();
  await held.nodeToNode.release();
  await held.rpc.release(); // releasing twice is harmless
  assert.equal(await tryListen(config.rpc.port), null);
  assert.equal(await tryListen(config.nodeToNode?.port ?? 0), null);

  // A restart with the same data directory finds the same ports, and holds nothing.
  const again = validateConfig(fields);
  const heldAgain = await pinAddresses(again);
  assert.deepEqual(heldAgain, { rpc: null, nodeToNode: null });
  assert.equal(again.rpc.port, config.rpc.port);
  assert.equal(again.nodeToNode?.port, config.nodeToNode?.port);
});

test("configured ports are used as they are, with nothing held", async () => {
  const config = validateConfig({ dataDir: tempDir(), rpc: { port: 18_001 }, nodeToNode: { port: 18_002 } });
  assert.deepEqual(await pinAddresses(config), { rpc: null, nodeToNode: null });
  assert.equal(config.rpc.port, 18_001);
  assert.equal(config.nodeToNode?.port, 18_002);
});
