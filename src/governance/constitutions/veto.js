// Veto policy: any single "no" from an Active member rejects; a proposal is Accepted only when
// every Active member voted yes. (Follows actions.js; see docs/governance.md.)

export function validate(input) {
  return validateActions(input);
}

export function resolve(_proposal, _proposerId, votes) {
  const active = activeMemberIds();
  const counted = votes.filter((v) => active.includes(v.member_id));
  if (counted.some((v) => !v.vote)) return "Rejected";
  if (counted.length === active.length) return "Accepted";
  return "Open";
}

export function apply(proposal, proposalId) {
  applyActions(proposal, proposalId);
}
