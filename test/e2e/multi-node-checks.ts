// Checks shared by the multi-node tests: committed writes readable on every live node, and ledgers
// that agree byte for byte (same Merkle root) on their committed prefix.
import assert from "node:assert/strict";
import { join } from "node:path";
import { Ledger } from "../../src/ledger/ledger.ts";
import { isAlive, type Net, userClient } from "./multi-node-harness.ts";

/** Every write reported Committed reads back, with its value, on every live node. */
export async function checkCommittedReadable(net: Net, committed: Map<number, string>): Promise<void> {
  assert.ok(committed.size > 0, "the load committed something");
  for (const n of net.nodes.filter(isAlive)) {
    const c = userClient(n, net.ws);
    try {
      for (const [id, msg] of committed) {
        const r = await c.get(`/app/log/private?id=${id}`);
        assert.equal(r.status, 200, `node ${n.index} lost committed write ${id}: ${r.body}`);
        assert.equal(r.json().msg, msg);
      }
    } finally {
      c.close();
    }
  }
}

/** Stopped nodes' ledgers hold the same first `committed` entries (equal Merkle roots). */
export function checkLedgersAgree(net: Net, committed: number): void {
  const roots = net.nodes.map((n) => {
    const { ledger } = Ledger.open(join(n.dataDir, "ledger"), {
      chunkBytesMax: 1 << 24,
      batchBytesMax: 1 << 23,
    });
    assert.ok(ledger.lastSeqno >= committed, `node ${n.index} holds the committed prefix`);
    const root = Buffer.from(ledger.tree.root(committed)).toString("hex");
    return root;
  });
  assert.equal(new Set(roots).size, 1, `committed prefixes differ: ${roots.join(" ")}`);
}
