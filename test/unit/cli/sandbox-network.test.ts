// `coterie sandbox --nodes N` writes its joiners' configurations from node 0's: same node key curve,
// so that a sandbox network signs on one curve; an existing joiner configuration is left alone.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { joinerConfig } from "../../../src/cli/sandbox-network.ts";
import { validateConfig } from "../../../src/node/config.ts";
import type { RunningNode } from "../../../src/node/node.ts";

const node0 = { url: "https://127.0.0.1:8000" } as RunningNode;

test("joiners inherit node 0's nodeKey (P-256 or the default P-384)", () => {
  for (const curve of ["P-256", "P-384"] as const) {
    const workspace = mkdtempSync(join(tmpdir(), "coterie-sandbox-config-"));
    const config0 = validateConfig({ dataDir: join(workspace, "node0"), nodeKey: { curve } });
    const path = joinerConfig(workspace, 2, 8000, node0, config0);
    assert.equal(path, join(workspace, "node2.config.json"));
    const written = JSON.parse(readFileSync(path, "utf8"));
    assert.deepEqual(written.nodeKey, { curve });
    assert.equal(written.join.target, node0.url);
    assert.equal(written.rpc.port, 8002);
    assert.equal(validateConfig({ ...written, dataDir: join(workspace, "node2") }).nodeKey.curve, curve);
  }
});

test("an existing joiner configuration is kept as it is", () => {
  const workspace = mkdtempSync(join(tmpdir(), "coterie-sandbox-config-"));
  const path = join(workspace, "node1.config.json");
  writeFileSync(path, '{"dataDir":"node1"}\n');
  const config0 = validateConfig({ dataDir: join(workspace, "node0"), nodeKey: { curve: "P-256" } });
  assert.equal(joinerConfig(workspace, 1, 0, node0, config0), path);
  assert.equal(readFileSync(path, "utf8"), '{"dataDir":"node1"}\n');
});
