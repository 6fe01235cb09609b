/**
 * `coterie gov ...`: members' governance from the command line. Requests are COSE Sign1 messages
 * signed with a PEM key (`--cert`/`--key`) or an external command (`--signer-command`, see
 * src/governance/signers.ts for its protocol); reads and the state digest use mutual TLS when a
 * key file is given. Output is for people by default, `--json` prints the API's JSON.
 *
 *   coterie gov propose FILE | vote ID BALLOT_FILE | withdraw ID | list | show ID | ack
 *     [--url URL] --service-cert PEM --cert PEM (--key PEM | --signer-command CMD) [--json]
 *   coterie gov audit DIR [--service-cert PEM] [--json]
 */
import { readFileSync } from "node:fs";
import { Agent, request } from "node:https";
import { parseArgs } from "node:util";
import type { CoseSigner } from "../crypto/cose.ts";
import {
  auditGovernance,
  ConstitutionRuntime,
  commandSigner,
  GOV_CONTENT_TYPE,
  type GovMessageType,
  pemSigner,
  signGovRequest,
} from "../governance/index.ts";
import { appBundleValidator } from "../node/bundle.ts";
import { UsageError } from "./main.ts";

export const govUsage = `usage: coterie gov <command> [options]
  propose FILE            submit the proposal in FILE ({ "actions": [ { "name", "args" } ] })
  vote ID BALLOT_FILE     submit a ballot (a module exporting vote(proposal, proposerId))
  withdraw ID             withdraw your Open proposal
  list | show ID          proposals, or one proposal with its ballots and votes
  ack                     acknowledge the current state digest (Accepted -> Active)
  audit DIR               replay governance from ledger files offline
options: --url URL (default https://127.0.0.1:8000)  --service-cert PEM  --cert PEM
         --key PEM | --signer-command CMD  --json`;

type Values = {
  url?: string;
  "service-cert"?: string;
  cert?: string;
  key?: string;
  "signer-command"?: string;
  json?: boolean;
};

/** A reply's JSON body, read loosely: the CLI only prints it. */
// biome-ignore lint/suspicious/noExplicitAny: untyped JSON from the node, printed field by field
type Json = any;
type Reply = { status: number; body: Json };

function connection(values: Values) {
  if (!values["service-cert"]) throw new UsageError("--service-cert PEM is required");
  const base = values.url ?? "https://127.0.0.1:8000";
  const agent = new Agent({
    ca: readFileSync(values["service-cert"]),
    ...(values.cert && values.key ? { cert: readFileSync(values.cert), key: readFileSync(values.key) } : {}),
  });
  return (method: string, path: string, body?: Uint8Array): Promise<Reply> =>
    new Promise((resolve, reject) => {
      const headers = body ? { "content-type": GOV_CONTENT_TYPE } : undefined;
      const req = request(`${base}${path}`, { method, agent, ...(headers ? { headers } : {}) }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString();
          let parsed: unknown = text;
          try {
            parsed = JSON.parse(text);
          } catch {}
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
      });
      req.on("error", reject);
      req.end(body);
    });
}

function signerOf(values: Values): CoseSigner {
  if (!values.cert) throw new UsageError("--cert PEM (the member certificate) is required");
  const cert = readFileSync(values.cert, "utf8");
  if (values["signer-command"]) return commandSigner(cert, values["signer-command"]);
  if (values.key) return pemSigner(cert, readFileSync(values.key, "utf8"));
  throw new UsageError("--key PEM or --signer-command CMD is required to sign");
}

function printProposal(p: Json): void {
  console.log(`proposal ${p.proposal_id}: ${p.state}`);
  console.log(`  proposer: ${p.proposer_id}`);
  for (const a of p.actions ?? [])
    console.log(`  action:   ${a.name} ${a.args === undefined ? "" : JSON.stringify(a.args)}`);
  for (const [m, v] of Object.entries(p.final_votes ?? {}))
    console.log(`  vote:     ${m} ${v ? "yes" : "no"}`);
  for (const [m, f] of Object.entries(p.vote_failures ?? {}) as Array<[string, Json]>)
    console.log(`  ballot failed: ${m} ${f.code}: ${f.message}`);
  if (p.failure) console.log(`  failure:  ${p.failure.code}: ${p.failure.message}`);
  if (p.transaction_id) console.log(`  transaction: ${p.transaction_id}`);
}

/** Prints a reply; returns the exit code (1 for an error reply). */
function output(values: Values, reply: Reply, human: (body: Json) => void): number {
  if (values.json) console.log(JSON.stringify(reply.body, null, 2));
  else if (reply.status >= 400) {
    const e = reply.body?.error;
    console.error(`coterie: ${e?.code ?? reply.status}: ${e?.message ?? JSON.stringify(reply.body)}`);
  } else human(reply.body);
  return reply.status >= 400 ? 1 : 0;
}

async function signed(
  values: Values,
  path: string,
  type: GovMessageType,
  payload: string,
  proposalId?: string,
) {
  const body = await signGovRequest({
    signer: signerOf(values),
    type,
    payload,
    ...(proposalId ? { proposalId } : {}),
  });
  return connection(values)("POST", path, body);
}

function need(arg: string | undefined, what: string): string {
  if (arg === undefined) throw new UsageError(`missing ${what}\n${govUsage}`);
  return arg;
}

export async function runGov(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      url: { type: "string" },
      "service-cert": { type: "string" },
      cert: { type: "string" },
      key: { type: "string" },
      "signer-command": { type: "string" },
      json: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  const [command, a, b] = positionals;
  if (values.help || command === undefined) {
    console.log(govUsage);
    return command === undefined && !values.help ? 2 : 0;
  }
  switch (command) {
    case "propose": {
      const payload = readFileSync(need(a, "FILE"), "utf8");
      return output(values, await signed(values, "/gov/v1/proposals", "proposal", payload), printProposal);
    }
    case "vote": {
      const id = need(a, "ID");
      const ballot = readFileSync(need(b, "BALLOT_FILE"), "utf8");
      const reply = await signed(values, `/gov/v1/proposals/${id}/ballots`, "ballot", ballot, id);
      return output(values, reply, printProposal);
    }
    case "withdraw": {
      const id = need(a, "ID");
      const reply = await signed(values, `/gov/v1/proposals/${id}/withdraw`, "withdrawal", "", id);
      return output(values, reply, printProposal);
    }
    case "list":
      return output(values, await connection(values)("GET", "/gov/v1/proposals"), (body) => {
        for (const p of body.proposals)
          console.log(`${p.proposal_id}  ${p.state.padEnd(9)}  by ${p.proposer_id}`);
        if (body.proposals.length === 0) console.log("no proposals");
      });
    case "show":
      return output(
        values,
        await connection(values)("GET", `/gov/v1/proposals/${need(a, "ID")}`),
        printProposal,
      );
    case "ack":
      return runAck(values);
    case "audit":
      return runAudit(need(a, "DIR"), values);
    default:
      throw new UsageError(`unknown gov command: ${command}\n${govUsage}`);
  }
}

async function runAck(values: Values): Promise<number> {
  if (!values.key)
    throw new UsageError("ack fetches the state digest over mutual TLS: give --cert and --key");
  const digest = await connection(values)("GET", "/gov/v1/members/state-digest");
  if (digest.status !== 200) return output(values, digest, () => {});
  const payload = JSON.stringify({ state_digest: digest.body.state_digest });
  const reply = await signed(values, "/gov/v1/members/ack", "ack", payload);
  return output(values, reply, (body) => console.log(`member ${body.member_id} is ${body.status}`));
}

async function runAudit(dir: string, values: Values): Promise<number> {
  // The same bundle check as the node's, so a set_app proposal validates the same way on replay.
  const runtime = new ConstitutionRuntime({ validateAppBundle: (source) => appBundleValidator(source) });
  try {
    const certPem = values["service-cert"] ? readFileSync(values["service-cert"], "utf8") : undefined;
    const report = await auditGovernance(dir, { runtime, ...(certPem ? { serviceCertPem: certPem } : {}) });
    if (values.json) console.log(JSON.stringify(report, null, 2));
    else {
      console.log(
        `audited ${report.entries} entries, ${report.requests} signed requests, ${Object.keys(report.proposals).length} proposals`,
      );
      for (const [id, state] of Object.entries(report.proposals)) console.log(`  ${id}  ${state}`);
      for (const f of report.findings) console.log(`FINDING seqno ${f.seqno} [${f.kind}] ${f.message}`);
      console.log(
        report.findings.length === 0
          ? "governance OK: every signature verified and every outcome recomputed"
          : `governance audit FAILED: ${report.findings.length} finding(s)`,
      );
    }
    return report.findings.length === 0 ? 0 : 1;
  } finally {
    runtime.dispose();
  }
}

/**
 * What `coterie sandbox` does on a new service: member0 acknowledges the state digest, proposes
 * `transition_service_to_open` and votes for it, through the real API. Returns the proposal id,
 * or null when the service was already Open.
 */
export async function openServiceByVote(
  values: Required<Pick<Values, "url" | "service-cert" | "cert" | "key">>,
) {
  const call = connection(values);
  const service = await call("GET", "/gov/v1/service");
  if (service.body?.status === "Open") return null;
  const check = (reply: Reply, what: string) => {
    if (reply.status !== 200) throw new Error(`${what} failed: ${JSON.stringify(reply.body)}`);
    return reply.body;
  };
  const digest = check(await call("GET", "/gov/v1/members/state-digest"), "state digest");
  const ackPayload = JSON.stringify({ state_digest: digest.state_digest });
  check(await signed(values, "/gov/v1/members/ack", "ack", ackPayload), "ack");
  const proposal = JSON.stringify({ actions: [{ name: "transition_service_to_open" }] });
  const id = check(await signed(values, "/gov/v1/proposals", "proposal", proposal), "proposal")
    .proposal_id as string;
  const ballot = "export function vote(proposal, proposerId) { return true; }\n";
  const voted = check(
    await signed(values, `/gov/v1/proposals/${id}/ballots`, "ballot", ballot, id),
    "ballot",
  );
  if (voted.state !== "Accepted") throw new Error(`opening proposal ${id} is ${voted.state}`);
  return id;
}
