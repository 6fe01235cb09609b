/** Public surface of src/governance. */

export { attestationPolicyOf } from "./attestation-policy.ts";
export { type AuditFinding, type AuditReport, auditGovernance } from "./audit.ts";
export { constitutionSource, type ShippedConstitution, shippedConstitutions } from "./constitutions/index.ts";
export { genesisGovernance } from "./genesis.ts";
export { GOV_MAP_PREFIX, GovKv, KV_ENTRIES_MAX } from "./kv-access.ts";
export {
  GOV_CONTENT_TYPE,
  GOV_MSG_CREATED_AT,
  GOV_MSG_PROPOSAL_ID,
  GOV_MSG_TYPE,
  type GovHeaders,
  type GovMessageType,
  govMessageTypes,
  parseGovHeaders,
  type SignGovRequestParameters,
  signedRequestKey,
  signGovRequest,
} from "./messages.ts";
export { type OpenApiRoute, openApiDocument } from "./openapi.ts";
export {
  ACTIONS_MAX,
  acknowledgeState,
  type GovContext,
  OPEN_PROPOSALS_MAX,
  OPEN_PROPOSALS_PER_MEMBER_MAX,
  parseProposal,
  proposalIdOf,
  recordRequest,
  resolveProposal,
  submitBallot,
  submitProposal,
  type VerifiedRequest,
  withdrawProposal,
} from "./requests.ts";
export {
  APP_BUNDLE_VALIDATION_UNAVAILABLE,
  type AppBundleValidator,
  CONSTITUTION_FUNCTIONS,
  ConstitutionRuntime,
  type ConstitutionRuntimeOptions,
  type Resolution,
  type Vote,
} from "./runtime.ts";
export { commandSigner, derToP1363, memberKid, pemSigner, SIGNER_OUTPUT_BYTES_MAX } from "./signers.ts";
export { canonicalJson, stateDigest } from "./state-digest.ts";
export { type ProposalView, proposalView } from "./views.ts";
