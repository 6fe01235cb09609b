/**
 * Governance records: proposals and their outcomes, the signed requests behind them, the
 * constitution, member acknowledgements, and what governance configures for other layers (the app
 * bundle, JWT issuers, triggers, the recovery threshold). All public, so every proposal, ballot and
 * outcome is in the ledger in plaintext and `coterie gov audit` can replay it offline.
 */
import { defineTable, json, utf8 } from "../kv/index.ts";

export type ProposalState = "Open" | "Accepted" | "Withdrawn" | "Rejected" | "Failed" | "Dropped";

/** One action of a proposal; the constitution gives `name` its meaning and checks `args`. */
export type ProposalAction = { name: string; args?: unknown };
export type Proposal = { actions: ProposalAction[] };

/** Why a proposal failed, or why a ballot could not be counted. */
export type GovFailure = { code: string; message: string };

export type ProposalInfo = {
  proposer_id: string;
  state: ProposalState;
  /** The seqno the proposal's transaction read at; hashed into the proposal id. */
  seqno_context: number;
  /** Member id → ballot source (the payload of that member's latest ballot while Open). */
  ballots: Record<string, string>;
  /** Member id → the ballot's result at the last resolution; failed ballots are absent. */
  final_votes?: Record<string, boolean>;
  /** Member id → why the ballot threw or returned a non-boolean at the last resolution. */
  vote_failures?: Record<string, GovFailure>;
  /** Set when the state is Failed: the constitution's resolve or apply threw or hit a limit. */
  failure?: GovFailure;
};

export const proposals = defineTable("public:coterie.gov.proposals", utf8, json<Proposal>());
export const proposalsInfo = defineTable("public:coterie.gov.proposals_info", utf8, json<ProposalInfo>());

/**
 * The Open proposals and who made them: an index that bounds how many may be open (per member and
 * in all) and lets a constitution change drop them without walking the whole history.
 */
export type OpenProposal = { proposer_id: string };
export const openProposals = defineTable("public:coterie.gov.proposals_open", utf8, json<OpenProposal>());

export type SignedRequestType = "proposal" | "ballot" | "withdrawal" | "ack" | "recovery_share";

/**
 * Every accepted signed request, keyed `<created_at as 12 digits>.<hex SHA-256 of the COSE bytes>`
 * so the replay check is one lookup and pruning walks keys in time order. Entries older than the
 * freshness window are deleted from the state (the ledger keeps them for audit).
 */
export type SignedRequestRecord = {
  member_id: string;
  type: SignedRequestType;
  created_at: number;
  proposal_id?: string;
  /** The whole COSE Sign1 message, base64. */
  cose: string;
};
export const signedRequests = defineTable(
  "public:coterie.gov.requests.recent",
  utf8,
  json<SignedRequestRecord>(),
);

export const CONSTITUTION_KEY = "constitution";
/** The constitution's JavaScript source under key "constitution". */
export const constitutionTable = defineTable("public:coterie.gov.constitution", utf8, utf8);

/** A member's latest acknowledgement of the state digest. */
export type MemberAck = { state_digest: string; seqno_context: number };
export const memberAcks = defineTable("public:coterie.gov.members.acks", utf8, json<MemberAck>());

export const APP_BUNDLE_KEY = "bundle";
/** The governed application bundle (`set_app`): one self-contained ES module and its sandbox limits. */
export type AppBundle = { source: string; limits?: Record<string, number> };
export const appBundle = defineTable("public:coterie.gov.app.bundle", utf8, json<AppBundle>());

/** A JWT issuer trusted for the `jwt` policy, keyed by its `iss` value. */
export type JwtIssuer = { jwks: { keys: Array<Record<string, unknown>> }; audience?: string };
export const jwtIssuers = defineTable("public:coterie.gov.jwt.issuers", utf8, json<JwtIssuer>());

/**
 * Requests made by governance for work done elsewhere, keyed "ledger_rekey" or "snapshot". The
 * trust layer consumes them (it does not yet): a request only records that members asked.
 */
export type ServiceTrigger = { proposal_id: string };
export const serviceTriggers = defineTable(
  "public:coterie.gov.service.triggers",
  utf8,
  json<ServiceTrigger>(),
);

export const RECOVERY_CONFIG_KEY = "config";
export type RecoveryConfig = { threshold: number };
export const recoveryConfig = defineTable("public:coterie.gov.recovery.config", utf8, json<RecoveryConfig>());
