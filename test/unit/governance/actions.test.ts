// Each action of the shipped constitutions: valid arguments pass `validate`, bad ones are refused
// with a reason naming the action; applying writes the documented table; the veto and operator
// policies resolve as documented.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { codeIds, hostData, snpTcbMinimum } from "../../../src/tables/attestation.ts";
import {
  appBundle,
  jwtIssuers,
  proposalsInfo,
  recoveryConfig,
  serviceTriggers,
} from "../../../src/tables/governance.ts";
import { memberInfo, nodeInfo } from "../../../src/tables/identities.ts";
import { SERVICE_INFO_KEY, serviceConfiguration, serviceInfo } from "../../../src/tables/service.ts";
import { type Gov, makeGov, makeMember, no, proposalOf, yes } from "./fixture.ts";
import {
  APP_BUNDLE_VALIDATION_UNAVAILABLE,
  constitutionSource,
  GovKv,
  submitBallot,
  submitProposal,
} from "./imports.ts";

const m48 = "ab".repeat(48);
const h32 = "cd".repeat(32);
const id32 = "ef".repeat(32);

describe("action validation (default constitution)", () => {
  let gov: Gov;
  let certPem: string;
  before(async () => {
    gov = await makeGov(1);
    certPem = (await makeMember("someone")).certPem;
  });
  after(() => gov.dispose());
  const verdict = (actions: Array<{ name: string; args?: unknown }>) =>
    gov.read((tx) => gov.runtime.validate(new GovKv(tx, false), constitutionSource("default"), { actions }));

  const cases = (): Array<[string, unknown, unknown, RegExp]> => [
    [
      "set_constitution",
      { constitution: constitutionSource("veto") },
      { constitution: "export const x = 1;" },
      /does not load/,
    ],
    [
      "set_member",
      { cert: certPem, member_data: { is_operator: true } },
      { cert: "not a cert" },
      /not a PEM/,
    ],
    ["remove_member", { member_id: id32 }, { member_id: "xyz" }, /member_id must be 32 bytes/],
    [
      "set_member_data",
      { member_id: id32, member_data: {} },
      { member_id: id32 },
      /missing argument member_data/,
    ],
    ["set_user", { cert: certPem }, { cert: certPem, extra: 1 }, /unknown argument extra/],
    ["remove_user", { user_id: id32 }, {}, /missing argument user_id/],
    [
      "set_user_data",
      { user_id: id32, user_data: { party: "p" } },
      { user_id: 5, user_data: 1 },
      /user_id must be/,
    ],
    ["transition_node_to_trusted", { node_id: id32 }, { node_id: "AB".repeat(32) }, /lowercase hex/],
    ["remove_node", { node_id: id32 }, { node_id: "" }, /node_id must be/],
    ["transition_service_to_open", {}, { now: true }, /unknown argument now/],
    ["remove_app", {}, { x: 1 }, /unknown argument x/],
    [
      "set_jwt_issuer",
      { issuer: "https://idp", jwks: { keys: [{ kty: "EC", kid: "k1" }] }, audience: "coterie" },
      { issuer: "https://idp", jwks: { keys: [{ kty: "EC", kid: "k1", d: "secret" }] } },
      /private key/,
    ],
    ["remove_jwt_issuer", { issuer: "https://idp" }, { issuer: "" }, /non-empty string/],
    ["add_code_measurement", { measurement: m48 }, { measurement: h32 }, /48 bytes/],
    ["remove_code_measurement", { measurement: m48 }, {}, /missing argument measurement/],
    ["add_host_data", { host_data: h32, description: "default" }, { host_data: m48 }, /32 bytes/],
    ["remove_host_data", { host_data: h32 }, { host_data: 1 }, /32 bytes/],
    [
      "set_snp_minimum_tcb",
      { product: "Milan", tcb: { bootloader: 3, tee: 0, snp: 8, microcode: 115 } },
      { product: "Milan", tcb: { bootloader: 300, tee: 0, snp: 8, microcode: 1 } },
      /0\.\.255/,
    ],
    ["trigger_ledger_rekey", {}, { now: 1 }, /unknown argument/],
    ["trigger_snapshot", {}, { now: 1 }, /unknown argument/],
    ["set_recovery_threshold", { threshold: 2 }, { threshold: 0 }, /1\.\.255/],
    [
      "set_service_configuration",
      { signature_interval_txs: 100, gov_request_window_s: 60 },
      {},
      /at least one/,
    ],
  ];

  test("valid arguments pass and invalid ones are refused with the action's name and reason", () => {
    for (const [name, good, bad, reason] of cases()) {
      assert.deepEqual(verdict([{ name, args: good }]), { valid: true, description: "" }, name);
      const refused = verdict([{ name: "trigger_snapshot" }, { name, args: bad }]);
      assert.equal(refused.valid, false, name);
      assert.match(refused.description, new RegExp(`^action 1 \\(${name}\\): `), name);
      assert.match(refused.description, reason, `${name}: ${refused.description}`);
    }
  });

  test("an unknown action is refused", () => {
    assert.match(
      verdict([{ name: "launch_missiles" }]).description,
      /action 0 \(launch_missiles\): unknown action/,
    );
  });

  test("set_app is refused until the apps layer provides validate_app_bundle", () => {
    const v = verdict([{ name: "set_app", args: { source: "export default {}" } }]);
    assert.equal(v.valid, false);
    assert.ok(v.description.includes(APP_BUNDLE_VALIDATION_UNAVAILABLE), v.description);
  });
});

async function voteYes(gov: Gov, id: string): Promise<void> {
  const req = await gov.request(gov.members[0]!, "ballot", yes, { proposalId: id });
  gov.run((tx, ctx) => submitBallot(tx, id, req, ctx));
}

describe("applying actions writes the documented tables", () => {
  test("one proposal with many actions, accepted by the lone active member", async () => {
    const gov = await makeGov(1, { runtime: { validateAppBundle: () => null } });
    try {
      gov.run((tx) => {
        nodeInfo
          .in(tx)
          .put(id32, { cert: "pem", status: "Pending", rpc_address: "127.0.0.1:1", platform: "virtual" });
        memberInfo
          .in(tx)
          .put(gov.members[0]!.id, { status: "Active", encryption_public_key: "-----BEGIN PUBLIC KEY-----" });
      });
      const actions = [
        { name: "transition_node_to_trusted", args: { node_id: id32 } },
        { name: "transition_service_to_open" },
        { name: "set_app", args: { source: "export const app = 1;", limits: { callTimeoutMs: 500 } } },
        {
          name: "set_jwt_issuer",
          args: { issuer: "https://idp", jwks: { keys: [{ kty: "EC", kid: "k1" }] } },
        },
        { name: "add_code_measurement", args: { measurement: m48 } },
        { name: "add_host_data", args: { host_data: h32 } },
        {
          name: "set_snp_minimum_tcb",
          args: { product: "Genoa", tcb: { bootloader: 1, tee: 2, snp: 3, microcode: 4 } },
        },
        { name: "trigger_ledger_rekey" },
        { name: "set_recovery_threshold", args: { threshold: 1 } },
        { name: "set_service_configuration", args: { signature_interval_ms: 50 } },
      ];
      const req = await gov.request(gov.members[0]!, "proposal", JSON.stringify({ actions }));
      const id = gov.run((tx, ctx) => submitProposal(tx, req, ctx));
      await voteYes(gov, id);
      gov.read((tx) => {
        const info = proposalsInfo.in(tx).get(id)!;
        assert.equal(info.state, "Accepted", JSON.stringify(info.failure));
        assert.equal(nodeInfo.in(tx).get(id32)?.status, "Trusted");
        assert.equal(serviceInfo.in(tx).get(SERVICE_INFO_KEY)?.status, "Open");
        assert.deepEqual(appBundle.in(tx).get("bundle"), {
          source: "export const app = 1;",
          limits: { callTimeoutMs: 500 },
        });
        assert.deepEqual(jwtIssuers.in(tx).get("https://idp"), {
          jwks: { keys: [{ kty: "EC", kid: "k1" }] },
        });
        assert.deepEqual(codeIds.in(tx).get(m48), { status: "AllowedToJoin" });
        assert.deepEqual(hostData.in(tx).get(h32), {});
        assert.deepEqual(snpTcbMinimum.in(tx).get("Genoa"), { bootloader: 1, tee: 2, snp: 3, microcode: 4 });
        assert.deepEqual(serviceTriggers.in(tx).get("ledger_rekey"), { proposal_id: id });
        assert.deepEqual(recoveryConfig.in(tx).get("config"), { threshold: 1 });
        assert.deepEqual(serviceConfiguration.in(tx).get("config"), { signature_interval_ms: 50 } as never);
      });
      // Apply-time checks fail the proposal with the reason, and change nothing.
      const again = await gov.request(
        gov.members[0]!,
        "proposal",
        proposalOf({ name: "transition_node_to_trusted", args: { node_id: id32 } }),
      );
      const failed = gov.run((tx, ctx) => submitProposal(tx, again, ctx));
      await voteYes(gov, failed);
      const info = gov.read((tx) => proposalsInfo.in(tx).get(failed)!);
      assert.equal(info.state, "Failed");
      assert.match(info.failure!.message, /is Trusted, not Pending/);
    } finally {
      gov.dispose();
    }
  });
});

describe("shipped policies", () => {
  test("veto: a single no rejects, unanimity accepts", async () => {
    const gov = await makeGov(3, { constitution: constitutionSource("veto") });
    try {
      const vote = async (id: string, i: number, source: string) => {
        const req = await gov.request(gov.members[i]!, "ballot", source, { proposalId: id });
        gov.run((tx, ctx) => submitBallot(tx, id, req, ctx));
        return gov.read((tx) => proposalsInfo.in(tx).get(id)!.state);
      };
      const p1 = await gov.request(gov.members[0]!, "proposal", proposalOf({ name: "trigger_snapshot" }));
      const id1 = gov.run((tx, ctx) => submitProposal(tx, p1, ctx));
      assert.equal(await vote(id1, 0, yes), "Open");
      assert.equal(await vote(id1, 1, yes), "Open", "a majority is not enough under veto");
      assert.equal(await vote(id1, 2, yes), "Accepted");
      const p2 = await gov.request(gov.members[0]!, "proposal", proposalOf({ name: "trigger_snapshot" }));
      const id2 = gov.run((tx, ctx) => submitProposal(tx, p2, ctx));
      assert.equal(await vote(id2, 2, no), "Rejected");
    } finally {
      gov.dispose();
    }
  });

  test("operator: an operator alone trusts a node; other actions need the non-operators' majority", async () => {
    const gov = await makeGov(3, { constitution: constitutionSource("operator") });
    try {
      const op = gov.members[0]!;
      gov.run((tx) => {
        memberInfo.in(tx).put(op.id, { status: "Active", member_data: { is_operator: true } });
        nodeInfo
          .in(tx)
          .put(id32, { cert: "pem", status: "Pending", rpc_address: "127.0.0.1:1", platform: "virtual" });
      });
      const vote = async (id: string, i: number) => {
        const req = await gov.request(gov.members[i]!, "ballot", yes, { proposalId: id });
        gov.run((tx, ctx) => submitBallot(tx, id, req, ctx));
        return gov.read((tx) => proposalsInfo.in(tx).get(id)!.state);
      };
      const p = await gov.request(
        op,
        "proposal",
        proposalOf({ name: "transition_node_to_trusted", args: { node_id: id32 } }),
      );
      const id = gov.run((tx, ctx) => submitProposal(tx, p, ctx));
      assert.equal(await vote(id, 0), "Accepted");
      const q = await gov.request(op, "proposal", proposalOf({ name: "trigger_snapshot" }));
      const id2 = gov.run((tx, ctx) => submitProposal(tx, q, ctx));
      assert.equal(await vote(id2, 0), "Open", "the operator's yes does not count for other actions");
      assert.equal(await vote(id2, 1), "Open");
      assert.equal(await vote(id2, 2), "Accepted");
    } finally {
      gov.dispose();
    }
  });
});

describe("the attestation policy governance sets", () => {
  test("allow-list actions produce a policy src/attestation accepts", async () => {
    const { validatePolicy } = await import("../../../src/attestation/policy.ts");
    const { attestationPolicyOf } = await import("./imports.ts");
    const gov = await makeGov(1);
    try {
      const actions = [
        { name: "add_code_measurement", args: { measurement: m48 } },
        { name: "add_host_data", args: { host_data: h32 } },
        {
          name: "set_snp_minimum_tcb",
          args: { product: "Milan", tcb: { bootloader: 3, tee: 0, snp: 8, microcode: 115 } },
        },
      ];
      const req = await gov.request(gov.members[0]!, "proposal", JSON.stringify({ actions }));
      const id = gov.run((tx, ctx) => submitProposal(tx, req, ctx));
      await voteYes(gov, id);
      const policy = gov.read((tx) => attestationPolicyOf(tx));
      validatePolicy(policy);
      assert.deepEqual(policy, {
        measurements: [m48],
        hostData: [h32],
        minTcb: { Milan: { bootloader: 3, tee: 0, snp: 8, microcode: 115 } },
      });
    } finally {
      gov.dispose();
    }
  });
});
