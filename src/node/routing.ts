/**
 * Where a write goes when it reaches a backup: a 307 to the same path on the primary (the client
 * SDK follows it, keeping its credentials), or COTERIE_ERR_CONSENSUS_NO_PRIMARY while an election
 * is in progress. Reads never come here: every node serves them from its own store.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { NodeId } from "../consensus/index.ts";
import { nodeInfo } from "../tables/identities.ts";
import { CoterieError } from "../util/errors.ts";
import type { Engine } from "./engine.ts";
import { sendJson } from "./http.ts";
import type { Network } from "./network.ts";

/** The network a multi-node engine belongs to (none for a single node). */
export const networks = new WeakMap<Engine, Network>();

/** `https://host:port` of node `id`, from the node table or the addresses learnt at join. */
export function rpcUrlOf(engine: Engine, id: NodeId): string | null {
  const network = networks.get(engine);
  const address =
    network?.addresses(id)?.rpc_address ?? nodeInfo.in(engine.store.beginTx()).get(id)?.rpc_address;
  return address === undefined ? null : `https://${address}`;
}

/** Answers 307 with `Location` on the primary's same path and query. */
export function redirectToPrimary(req: IncomingMessage, res: ServerResponse, engine: Engine): number {
  const primary = engine.primaryId;
  const base = primary === null ? null : rpcUrlOf(engine, primary);
  if (base === null) {
    throw new CoterieError(
      "COTERIE_ERR_CONSENSUS_NO_PRIMARY",
      "no primary is known right now; retry shortly",
    );
  }
  const location = `${base}${req.url ?? "/"}`;
  const error = new CoterieError("COTERIE_ERR_NOT_PRIMARY", `this node is a backup; the primary is ${base}`, {
    details: { primary_id: primary, location },
  });
  req.resume();
  sendJson(res, 307, error.toJSON(), { location });
  return 307;
}
