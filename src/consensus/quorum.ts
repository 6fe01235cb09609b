import type { NodeId } from "./types.ts";

/**
 * The largest index replicated on a majority of `members`, given each member's match index.
 * Counts only members, so a leader that is not in a configuration does not count for it.
 */
export function majorityMatch(members: readonly NodeId[], matchOf: (id: NodeId) => number): number {
  const matches = members.map(matchOf).sort((a, b) => b - a);
  return matches[Math.floor(members.length / 2)] ?? 0;
}

/** The largest index replicated on a quorum in every active configuration. */
export function jointMatch(configs: readonly (readonly NodeId[])[], matchOf: (id: NodeId) => number): number {
  let result = Number.POSITIVE_INFINITY;
  for (const members of configs) result = Math.min(result, majorityMatch(members, matchOf));
  return result === Number.POSITIVE_INFINITY ? 0 : result;
}

export type VoteResult = "won" | "lost" | "pending";

/** An election is won with a majority of grants in every configuration, lost once one cannot get it. */
export function jointVoteResult(
  configs: readonly (readonly NodeId[])[],
  votes: ReadonlyMap<NodeId, boolean>,
): VoteResult {
  let result: VoteResult = "won";
  for (const members of configs) {
    let granted = 0;
    let rejected = 0;
    for (const id of members) {
      const vote = votes.get(id);
      if (vote === true) granted++;
      else if (vote === false) rejected++;
    }
    const majority = Math.floor(members.length / 2) + 1;
    if (members.length - rejected < majority) return "lost";
    if (granted < majority) result = "pending";
  }
  return result;
}

/** True when the nodes for which `active` holds form a quorum in every configuration. */
export function jointQuorumActive(
  configs: readonly (readonly NodeId[])[],
  active: (id: NodeId) => boolean,
): boolean {
  return configs.every((members) => members.filter(active).length > members.length / 2);
}
