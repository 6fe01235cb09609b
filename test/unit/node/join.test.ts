// The joiner's polling against a stand-in target on real HTTPS (the service's certificate pinned):
// a refusal no later request can change ends the join at once with COTERIE_ERR_CONSENSUS_JOIN_REFUSED
// and the target's own code, while transient failures and refusals the members can lift by a vote
// are asked again.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { privateKeyToPem } from "../../../src/crypto/keys.ts";
import { validateConfig } from "../../../src/node/config.ts";
import { createIdentity, type Identity } from "../../../src/node/identity.ts";
import { joinService } from "../../../src/node/join.ts";
import { createLogger } from "../../../src/node/logger.ts";
import { platformFor } from "../../../src/node/node.ts";
import { isCoterieError } from "../../../src/util/errors.ts";
import { tempDir } from "../ledger/helpers.ts";

type Answer = { status: number; body: unknown; location?: string };

let service: Identity;
let caFile: string;

before(async () => {
  service = await createIdentity(["localhost"]);
  caFile = join(tempDir(), "service_cert.pem");
  writeFileSync(caFile, service.serviceCert);
});

const servers: Server[] = [];
after(() => {
  for (const s of servers) s.closeAllConnections();
  return Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
});

/** A target with the service's node certificate that answers `answers` in turn, then 503. */
async function standIn(answers: Answer[]): Promise<{ url: string; paths: string[] }> {
  const paths: string[] = [];
  const server = createServer(
    { key: privateKeyToPem(service.node.privateKey), cert: service.nodeCert },
    (req, res) => {
      paths.push(`${req.method} ${req.url}`);
      req.resume();
      req.on("end", () => {
        const a = answers.shift() ?? { status: 503, body: { error: { code: "COTERIE_ERR_X", message: "" } } };
        const headers: Record<string, string> = { "content-type": "application/json" };
        if (a.location !== undefined) headers.location = a.location;
        res.writeHead(a.status, headers).end(JSON.stringify(a.body));
      });
    },
  );
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `https://127.0.0.1:${(server.address() as { port: number }).port}`, paths };
}

const refusal = (status: number, code: string, message: string): Answer => ({
  status,
  body: { error: { code, message } },
});

/** Joins `target`; returns the error it ends with and the warnings it logged. */
async function joinAndFail(target: string): Promise<{ error: unknown; warnings: string[] }> {
  const dataDir = tempDir();
  const config = validateConfig({
    dataDir,
    rpc: { host: "127.0.0.1", port: 0 },
    nodeToNode: { host: "127.0.0.1", port: 0 },
    nodeKey: { curve: "P-256" },
    join: { target, serviceCertificate: caFile, pollMs: 10 },
  });
  const warnings: string[] = [];
  const log = createLogger("warn", (line) => warnings.push(line));
  try {
    await joinService(config, platformFor(config), log);
  } catch (error) {
    return { error, warnings };
  }
  assert.fail("the join was expected to end with an error");
}

function assertRefused(error: unknown, remoteCode: string): void {
  assert.ok(isCoterieError(error), `a CoterieError, got ${String(error)}`);
  assert.equal(error.code, "COTERIE_ERR_CONSENSUS_JOIN_REFUSED");
  assert.equal((error.details as { code: string }).code, remoteCode);
}

test("a refusal no later request can change ends the join after one request", {
  timeout: 20_000,
}, async () => {
  const retired = await standIn([refusal(403, "COTERIE_ERR_CONSENSUS_JOIN_REFUSED", "node n1 is Retired")]);
  const first = await joinAndFail(retired.url);
  assertRefused(first.error, "COTERIE_ERR_CONSENSUS_JOIN_REFUSED");
  assert.match(
    (first.error as Error).message,
    /\(403\): COTERIE_ERR_CONSENSUS_JOIN_REFUSED: node n1 is Retired/,
  );
  assert.deepEqual(retired.paths, ["POST /node/join"]);

  // An older primary that takes only P-384 node keys answers 400: the joiner says so and stops.
  const older = await standIn([refusal(400, "COTERIE_ERR_INVALID_INPUT", "node keys are EC P-384")]);
  const second = await joinAndFail(older.url);
  assertRefused(second.error, "COTERIE_ERR_INVALID_INPUT");
  assert.match((second.error as Error).message, /node keys are EC P-384/);
  assert.equal(older.paths.length, 1);
});

test("transient failures and refusals the members can lift are asked again", {
  timeout: 20_000,
}, async () => {
  const liftable = "COTERIE_ERR_ATTESTATION_MEASUREMENT_NOT_ALLOWED";
  const target = await standIn([
    refusal(403, liftable, "measurement not in the allow-list"),
    refusal(403, liftable, "measurement not in the allow-list"),
    refusal(503, "COTERIE_ERR_CONSENSUS_NO_PRIMARY", "no primary yet"),
    refusal(429, "COTERIE_ERR_SOMETHING_NEWER", "slow down"),
    { status: 200, body: { status: "Pending", node_id: "n1" } },
    refusal(403, "COTERIE_ERR_CONSENSUS_JOIN_REFUSED", "node n1 is Retired"),
  ]);
  const { error, warnings } = await joinAndFail(target.url);
  assertRefused(error, "COTERIE_ERR_CONSENSUS_JOIN_REFUSED");
  assert.equal(target.paths.length, 6);
  // The repeated refusal is logged once (then every 20th), with its code.
  const held = warnings.filter((w) => w.includes("waiting for the members"));
  assert.equal(held.length, 1);
  assert.ok(held[0]?.includes(liftable));
});

test("a redirect is followed, and a refusal from where it leads ends the join", {
  timeout: 20_000,
}, async () => {
  const primary = await standIn([refusal(400, "COTERIE_ERR_INVALID_INPUT", "public_key does not parse")]);
  const backup = await standIn([{ status: 307, body: {}, location: `${primary.url}/node/join` }]);
  const { error } = await joinAndFail(backup.url);
  assertRefused(error, "COTERIE_ERR_INVALID_INPUT");
  assert.equal(backup.paths.length, 1);
  assert.equal(primary.paths.length, 1);
});
