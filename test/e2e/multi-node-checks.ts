// Checks shared by the multi-node tests: committed writes readable on every node in the
// configuration (a retired one refuses reads; its ledger is checked up to what it knew was
// committed), and ledgers that agree byte for byte (same Merkle root) on their committed prefix.
import assert from "node:assert/strict";
import { join } from "node:path";
import { Ledger } from "../../src/ledger/ledger.ts";
import { isAlive, type Net, stateOf, userClient, waitFor } from "./multi-node-harness.ts";
import type { CommittedWrite } from "./multi-node-load.ts";

/** A node removed from the configuration, and the commit seqno it knew once out of it. */
export type RetiredNode = { index: number; committed: number };

const seqnoOf = (transactionId: string) => Number(transactionId.split(".")[1]);

/**
 * Every write reported Committed reads back, with its value, on every live node still in the
 * configuration (once it has learnt the last write's commit). A retired node is no longer
 * replicated, so it refuses reads (410 COTERIE_ERR_NODE_RETIRED) rather than serve a state that
 * stopped when it left (docs/operations.md, "Retiring"); `checkLedgersAgree` checks its ledger up
 * to the commit it knew.
 */
export async function checkCommittedReadable(
  net: Net,
  committed: Map<number, CommittedWrite>,
  retired: readonly RetiredNode[] = [],
): Promise<void> {
  assert.ok(committed.size > 0, "the load committed something");
  const last = Math.max(...[...committed.values()].map((w) => w.seqno));
  for (const n of net.nodes.filter(isAlive)) {
    const bound = retired.find((r) => r.index === n.index)?.committed ?? null;
    if (bound === null) {
      await waitFor(
        async () => seqnoOf((await stateOf(n)).committed_transaction_id) >= last,
        10_000,
        `node ${n.index} learns the commit of seqno ${last}`,
      );
    }
    const c = userClient(n, net.ws);
    try {
      if (bound !== null) {
        const r = await c.get(`/app/log/private?id=${committed.keys().next().value}`);
        assert.equal(r.status, 410, `retired node ${n.index} refuses reads: ${r.body}`);
        continue;
      }
      for (const [id, { msg, seqno }] of committed) {
        const r = await c.get(`/app/log/private?id=${id}`);
        assert.equal(r.status, 200, `node ${n.index} lost committed write ${id} at ${seqno}: ${r.body}`);
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
