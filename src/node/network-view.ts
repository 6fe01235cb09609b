/**
 * What `/node/network` reports about the nodes: every node in the node table with its status and
 * addresses, whether it is a voter of the newest consensus configuration, and which one is primary.
 * A single node (no network) reports itself.
 */
import { nodeInfo } from "../tables/identities.ts";
import type { Engine } from "./engine.ts";
import { networks } from "./routing.ts";

export type NetworkNode = {
  node_id: string;
  status: string;
  primary: boolean;
  voter: boolean;
  rpc_address: string | null;
  node_to_node_address: string | null;
};

export function networkNodes(engine: Engine): NetworkNode[] {
  const network = networks.get(engine);
  const voters = network?.replicator.status().configurations.at(-1) ?? [engine.identity.nodeId];
  const primary = engine.primaryId;
  const out: NetworkNode[] = [];
  nodeInfo.in(engine.store.beginTx()).forEach((id, info) => {
    out.push({
      node_id: id,
      status: info.status,
      primary: id === primary,
      voter: voters.includes(id),
      rpc_address: info.rpc_address,
      node_to_node_address: info.node_to_node_address ?? null,
    });
  });
  return out;
}
