/** What the API returns for a proposal: its record and its actions, in one JSON object. */
import type { Tx } from "../kv/index.ts";
import { type ProposalInfo, proposals, proposalsInfo } from "../tables/governance.ts";
import { CoterieError } from "../util/errors.ts";

export type ProposalView = ProposalInfo & { proposal_id: string; actions: unknown[] };

export function proposalView(tx: Tx, id: string): ProposalView {
  const info = proposalsInfo.in(tx).get(id);
  const proposal = proposals.in(tx).get(id);
  if (info === undefined || proposal === undefined) {
    throw new CoterieError("COTERIE_ERR_GOV_PROPOSAL_NOT_FOUND", `no proposal ${id}`);
  }
  return { proposal_id: id, ...info, actions: proposal.actions };
}
