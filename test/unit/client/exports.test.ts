// Snapshot of the public export list: changing the SDK's API must be a deliberate edit here.
import assert from "node:assert/strict";
import { test } from "node:test";
import * as client from "../../../src/client/index.ts";
import * as nodeClient from "../../../src/client/node.ts";

test("coterie/client exports exactly this list", () => {
  assert.deepEqual(Object.keys(client).sort(), [
    "CLIENT_DEFAULTS",
    "CoterieClientError",
    "GOV_MSG",
    "TX_ID_HEADER",
    "certificateKid",
    "createClient",
    "createIdentity",
    "cryptoKeySigner",
    "fixedBallot",
    "isCoterieClientError",
    "pemToDer",
    "signGovRequest",
    "signerFromCryptoKey",
    "signerFromPem",
    "verifyLedgerChunks",
    "verifyReceipt",
    "verifyServedCoseReceipt",
  ]);
});

test("coterie/client/node exports exactly this list", () => {
  assert.deepEqual(Object.keys(nodeClient).sort(), ["createNodeClient", "createNodeFetch"]);
});

test("a client has exactly these verbs", () => {
  const c = client.createClient({ url: "https://x.example", fetch: async () => new Response() });
  assert.deepEqual(Object.keys(c).sort(), [
    "call",
    "commit",
    "get",
    "getCoseReceipt",
    "getReceipt",
    "gov",
    "network",
    "nodeState",
    "request",
    "txStatus",
    "url",
    "verifyCoseReceipt",
    "verifyReceipt",
    "waitForCommit",
    "write",
  ]);
  assert.deepEqual(Object.keys(c.gov).sort(), ["ack", "ballots", "proposals", "stateDigest"]);
  assert.deepEqual(Object.keys(c.gov.proposals).sort(), ["create", "get", "list", "withdraw"]);
});
