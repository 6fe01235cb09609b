// The proposal state machine against the default constitution, in memory: majority, rejection,
// ballot replacement only while Open, withdrawal rules, Dropped on a constitution change, replay
// refusal, acks, and failures of the constitution recorded on the proposal.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { proposalsInfo } from "../../../src/tables/governance.ts";
import { memberInfo, userInfo } from "../../../src/tables/identities.ts";
import { type Gov, makeGov, makeMember, no, proposalOf, yes } from "./fixture.ts";
import {
  acknowledgeState,
  constitutionSource,
  OPEN_PROPOSALS_PER_MEMBER_MAX,
  proposalIdOf,
  stateDigest,
  submitBallot,
  submitProposal,
  withdrawProposal,
} from "./imports.ts";

function code(c: string) {
  return (e: unknown) => (e as { code?: string }).code === c;
}

async function propose(gov: Gov, memberIndex: number, proposal: string): Promise<string> {
  const req = await gov.request(gov.members[memberIndex]!, "proposal", proposal);
  return gov.run((tx, ctx) => submitProposal(tx, req, ctx));
}

async function ballot(gov: Gov, memberIndex: number, id: string, source: string) {
  const req = await gov.request(gov.members[memberIndex]!, "ballot", source, { proposalId: id });
  gov.run((tx, ctx) => submitBallot(tx, id, req, ctx));
  return gov.read((tx) => proposalsInfo.in(tx).get(id)!);
}

describe("governance state machine (default constitution)", () => {
  let gov: Gov;
  before(async () => {
    gov = await makeGov(3);
  });
  after(() => gov.dispose());

  test("a strict majority of Active members accepts and applies; the id is SHA-256(cose ‖ seqno)", async () => {
    const user = await makeMember("user-a");
    const req = await gov.request(
      gov.members[0]!,
      "proposal",
      proposalOf({ name: "set_user", args: { cert: user.certPem, user_data: { party: "a" } } }),
    );
    let seqnoContext = -1;
    const id = gov.run((tx, ctx) => {
      seqnoContext = ctx.seqnoContext;
      return submitProposal(tx, req, ctx);
    });
    assert.equal(id, proposalIdOf(req.bytes, seqnoContext));
    assert.equal((await ballot(gov, 0, id, yes)).state, "Open");
    const info = await ballot(gov, 1, id, yes);
    assert.equal(info.state, "Accepted");
    assert.deepEqual(info.final_votes, { [gov.members[0]!.id]: true, [gov.members[1]!.id]: true });
    assert.deepEqual(
      gov.read((tx) => userInfo.in(tx).get(user.id)),
      { user_data: { party: "a" } },
    );
  });

  test("two no votes out of three reject; a later ballot on a closed proposal is refused", async () => {
    const id = await propose(gov, 0, proposalOf({ name: "trigger_snapshot" }));
    await ballot(gov, 1, id, no);
    assert.equal((await ballot(gov, 2, id, no)).state, "Rejected");
    await assert.rejects(ballot(gov, 0, id, yes), code("COTERIE_ERR_GOV_PROPOSAL_NOT_OPEN"));
  });

  test("a member's second ballot replaces the first while Open", async () => {
    const id = await propose(gov, 0, proposalOf({ name: "trigger_snapshot" }));
    await ballot(gov, 1, id, no);
    const info = await ballot(gov, 1, id, yes);
    assert.equal(info.state, "Open");
    assert.equal(info.ballots[gov.members[1]!.id], yes);
    assert.equal((await ballot(gov, 2, id, yes)).state, "Accepted");
  });

  test("ballots are evaluated against the current state each time", async () => {
    const id = await propose(gov, 0, proposalOf({ name: "trigger_ledger_rekey" }));
    const conditional = `export function vote(p, proposer) {
      return host.kv_get("public:coterie.gov.service.triggers", "snapshot") === null; }`;
    const info = await ballot(gov, 1, id, conditional);
    assert.equal(info.final_votes?.[gov.members[1]!.id], false); // a snapshot trigger exists by now
  });

  test("withdrawal: only the proposer, only while Open", async () => {
    const id = await propose(gov, 0, proposalOf({ name: "trigger_snapshot" }));
    const other = await gov.request(gov.members[1]!, "withdrawal", "", { proposalId: id });
    assert.throws(
      () => gov.run((tx, ctx) => withdrawProposal(tx, id, other, ctx)),
      code("COTERIE_ERR_GOV_NOT_PROPOSER"),
    );
    const mine = await gov.request(gov.members[0]!, "withdrawal", "", { proposalId: id });
    gov.run((tx, ctx) => withdrawProposal(tx, id, mine, ctx));
    assert.equal(
      gov.read((tx) => proposalsInfo.in(tx).get(id)!.state),
      "Withdrawn",
    );
    await assert.rejects(ballot(gov, 1, id, yes), code("COTERIE_ERR_GOV_PROPOSAL_NOT_OPEN"));
  });

  test("a replayed request is refused and changes nothing", async () => {
    const req = await gov.request(gov.members[0]!, "proposal", proposalOf({ name: "trigger_snapshot" }));
    gov.run((tx, ctx) => submitProposal(tx, req, ctx));
    const before = gov.store.version;
    assert.throws(
      () => gov.run((tx, ctx) => submitProposal(tx, req, ctx)),
      code("COTERIE_ERR_GOV_REQUEST_REPLAYED"),
    );
    assert.equal(gov.store.version, before);
  });

  test("a message of the wrong type or for another proposal is refused", async () => {
    const id = await propose(gov, 0, proposalOf({ name: "trigger_snapshot" }));
    const asProposal = await gov.request(gov.members[1]!, "proposal", yes);
    assert.throws(
      () => gov.run((tx, ctx) => submitBallot(tx, id, asProposal, ctx)),
      code("COTERIE_ERR_GOV_WRONG_MESSAGE_TYPE"),
    );
    const otherId = "ab".repeat(32);
    const elsewhere = await gov.request(gov.members[1]!, "ballot", yes, { proposalId: otherId });
    assert.throws(
      () => gov.run((tx, ctx) => submitBallot(tx, id, elsewhere, ctx)),
      code("COTERIE_ERR_GOV_WRONG_MESSAGE_TYPE"),
    );
  });

  test("a ballot that does not compile is refused at submission", async () => {
    const id = await propose(gov, 0, proposalOf({ name: "trigger_snapshot" }));
    await assert.rejects(ballot(gov, 1, id, "export function vote( {"), code("COTERIE_ERR_SANDBOX_SYNTAX"));
    await assert.rejects(
      ballot(gov, 1, id, "export const x = 1;"),
      code("COTERIE_ERR_SANDBOX_MISSING_EXPORT"),
    );
  });

  test("a ballot that throws is recorded as a vote failure and not counted", async () => {
    const id = await propose(gov, 0, proposalOf({ name: "trigger_snapshot" }));
    const info = await ballot(gov, 1, id, 'export function vote() { throw new Error("no opinion"); }');
    assert.equal(info.state, "Open");
    assert.match(info.vote_failures?.[gov.members[1]!.id]?.message ?? "", /no opinion/);
  });

  test("changing the constitution drops every other Open proposal", async () => {
    const waiting = await propose(gov, 0, proposalOf({ name: "trigger_snapshot" }));
    const id = await propose(
      gov,
      0,
      proposalOf({ name: "set_constitution", args: { constitution: constitutionSource("veto") } }),
    );
    await ballot(gov, 0, id, yes);
    assert.equal((await ballot(gov, 1, id, yes)).state, "Accepted");
    assert.equal(
      gov.read((tx) => proposalsInfo.in(tx).get(waiting)!.state),
      "Dropped",
    );
  });
});

describe("limits", () => {
  test("a member may have at most OPEN_PROPOSALS_PER_MEMBER_MAX Open proposals; withdrawing frees one", async () => {
    const gov = await makeGov(3);
    try {
      const ids: string[] = [];
      for (let i = 0; i < OPEN_PROPOSALS_PER_MEMBER_MAX; i++)
        ids.push(await propose(gov, 0, proposalOf({ name: "trigger_snapshot" })));
      await assert.rejects(
        propose(gov, 0, proposalOf({ name: "trigger_snapshot" })),
        code("COTERIE_ERR_TOO_MANY_REQUESTS"),
      );
      await propose(gov, 1, proposalOf({ name: "trigger_snapshot" })); // others are not blocked
      const w = await gov.request(gov.members[0]!, "withdrawal", "", { proposalId: ids[0]! });
      gov.run((tx, ctx) => withdrawProposal(tx, ids[0]!, w, ctx));
      await propose(gov, 0, proposalOf({ name: "trigger_snapshot" }));
    } finally {
      gov.dispose();
    }
  });
});

describe("members and acknowledgements", () => {
  test("an Accepted member may only ack; acking the current digest makes it Active", async () => {
    const gov = await makeGov(2, { active: 1 });
    try {
      const m = gov.members[1]!;
      const early = await gov.request(m, "proposal", proposalOf({ name: "trigger_snapshot" }));
      assert.throws(
        () => gov.run((tx, ctx) => submitProposal(tx, early, ctx)),
        code("COTERIE_ERR_GOV_MEMBER_NOT_ACTIVE"),
      );
      const stale = await gov.request(m, "ack", JSON.stringify({ state_digest: "00".repeat(32) }));
      assert.throws(
        () => gov.run((tx, ctx) => acknowledgeState(tx, stale, ctx)),
        code("COTERIE_ERR_GOV_STATE_DIGEST_MISMATCH"),
      );
      const digest = gov.read((tx) => stateDigest(tx));
      const ack = await gov.request(m, "ack", JSON.stringify({ state_digest: digest }));
      gov.run((tx, ctx) => acknowledgeState(tx, ack, ctx));
      assert.equal(
        gov.read((tx) => memberInfo.in(tx).get(m.id)!.status),
        "Active",
      );
      assert.notEqual(
        gov.read((tx) => stateDigest(tx)),
        digest,
        "the digest covers member status",
      );
    } finally {
      gov.dispose();
    }
  });
});

describe("a constitution that misbehaves fails the proposal, and governance goes on", () => {
  const base = (resolveBody: string, applyBody = "") => `
    export function validate() { return { valid: true }; }
    export function resolve(p, proposer, votes) { ${resolveBody} }
    export function apply(p, id) { ${applyBody} }`;

  for (const [name, source, expected] of [
    ["throws in resolve", base('throw new Error("constitution bug");'), "COTERIE_ERR_SANDBOX_THROWN"],
    ["loops in resolve", base("for (;;) {}"), "COTERIE_ERR_SANDBOX_TIMEOUT"],
    ["returns nonsense", base('return "Maybe";'), "COTERIE_ERR_SANDBOX_INVALID_RESULT"],
    [
      "throws in apply after writing",
      base(
        'return "Accepted";',
        'host.kv_put("public:coterie.gov.service.triggers", "snapshot", { proposal_id: id }); throw new Error("half way");',
      ),
      "COTERIE_ERR_SANDBOX_THROWN",
    ],
    [
      "writes outside governance",
      base('return "Accepted";', 'host.kv_put("public:records", "k", 1);'),
      "COTERIE_ERR_FORBIDDEN",
    ],
    [
      "forges a ballot record",
      base('return "Accepted";', 'host.kv_put("public:coterie.gov.proposals_info", id, {});'),
      "COTERIE_ERR_FORBIDDEN",
    ],
  ] as const) {
    test(name, async () => {
      const gov = await makeGov(1, { constitution: source, runtime: { limits: { callTimeoutMs: 100 } } });
      try {
        const id = await propose(gov, 0, proposalOf({ name: "anything" }));
        const info = gov.read((tx) => proposalsInfo.in(tx).get(id)!);
        assert.equal(info.state, "Failed");
        assert.equal(info.failure?.code, expected, JSON.stringify(info.failure));
        const trigger = gov.read((tx) =>
          tx.get("public:coterie.gov.service.triggers", new TextEncoder().encode("snapshot")),
        );
        assert.equal(trigger, undefined, "a failed apply writes nothing");
        // The runtime still works afterwards.
        const next = await propose(gov, 0, proposalOf({ name: "anything" }));
        assert.equal(
          gov.read((tx) => proposalsInfo.in(tx).get(next)!.state),
          "Failed",
        );
      } finally {
        gov.dispose();
      }
    });
  }

  test("validate that throws refuses the proposal with CONSTITUTION_ERROR and writes nothing", async () => {
    const gov = await makeGov(1, {
      constitution: base('return "Open";').replace("return { valid: true };", 'throw new Error("bad");'),
    });
    try {
      const version = gov.store.version;
      await assert.rejects(
        propose(gov, 0, proposalOf({ name: "x" })),
        code("COTERIE_ERR_GOV_CONSTITUTION_ERROR"),
      );
      assert.equal(gov.store.version, version);
    } finally {
      gov.dispose();
    }
  });
});
