// Default policy: a proposal is Accepted once a strict majority of Active members voted yes, and
// Rejected once so many voted no that a majority of yes is out of reach. Ballots of members that
// are not Active are not counted. (Follows actions.js; see docs/governance.md.)

export function validate(input) {
  return validateActions(input);
}

export function resolve(_proposal, _proposerId, votes) {
  const active = new Set(activeMemberIds());
  const counted = votes.filter((v) => active.has(v.member_id));
  const yes = counted.filter((v) => v.vote).length;
  const no = counted.length - yes;
  const majority = Math.floor(active.size / 2) + 1;
  if (yes >= majority) return "Accepted";
  if (no > active.size - majority) return "Rejected";
  return "Open";
}

export function apply(proposal, proposalId) {
  applyActions(proposal, proposalId);
}
