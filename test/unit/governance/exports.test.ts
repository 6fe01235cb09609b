// The public export list of src/governance, snapshotted so API changes are deliberate: the node,
// the CLI, the recovery service and tests import these names.
import assert from "node:assert/strict";
import { test } from "node:test";
import * as governance from "../../../src/governance/index.ts";

test("src/governance exports exactly these names", () => {
  assert.deepEqual(Object.keys(governance).sort(), [
    "ACTIONS_MAX",
    "APP_BUNDLE_VALIDATION_UNAVAILABLE",
    "CONSTITUTION_FUNCTIONS",
    "ConstitutionRuntime",
    "GOV_CONTENT_TYPE",
    "GOV_MAP_PREFIX",
    "GOV_MSG_CREATED_AT",
    "GOV_MSG_PROPOSAL_ID",
    "GOV_MSG_TYPE",
    "GovKv",
    "KV_ENTRIES_MAX",
    "OPEN_PROPOSALS_MAX",
    "OPEN_PROPOSALS_PER_MEMBER_MAX",
    "SIGNER_OUTPUT_BYTES_MAX",
    "acknowledgeState",
    "attestationPolicyOf",
    "auditGovernance",
    "canonicalJson",
    "commandSigner",
    "constitutionSource",
    "derToP1363",
    "genesisGovernance",
    "govMessageTypes",
    "memberKid",
    "openApiDocument",
    "parseGovHeaders",
    "parseProposal",
    "pemSigner",
    "proposalIdOf",
    "proposalView",
    "recordRequest",
    "resolveProposal",
    "shippedConstitutions",
    "signGovRequest",
    "signedRequestKey",
    "stateDigest",
    "submitBallot",
    "submitProposal",
    "withdrawProposal",
  ]);
});
