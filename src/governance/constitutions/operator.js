// Operator policy: members whose member_data has "is_operator": true run the machines. A proposal
// made only of node actions (transition_node_to_trusted, remove_node) is Accepted on the yes of
// any one Active operator. Everything else needs a strict majority of the Active members who are
// not operators, as in default.js. (Follows actions.js; see docs/governance.md.)

const OPERATOR_ACTIONS = ["transition_node_to_trusted", "remove_node"];

function isOperator(memberId) {
  const info = host.kv_get(MAP.memberInfo, memberId);
  return info !== null && info.status === "Active" && info.member_data?.is_operator === true;
}

export function validate(input) {
  return validateActions(input);
}

export function resolve(proposal, _proposerId, votes) {
  const onlyNodes = proposal.actions.every((a) => OPERATOR_ACTIONS.includes(a.name));
  if (onlyNodes && votes.some((v) => v.vote && isOperator(v.member_id))) return "Accepted";
  const voters = new Set(activeMemberIds().filter((id) => !isOperator(id)));
  const counted = votes.filter((v) => voters.has(v.member_id));
  const yes = counted.filter((v) => v.vote).length;
  const majority = Math.floor(voters.size / 2) + 1;
  if (voters.size > 0 && yes >= majority) return "Accepted";
  if (counted.length - yes > voters.size - majority) return "Rejected";
  return "Open";
}

export function apply(proposal, proposalId) {
  applyActions(proposal, proposalId);
}
