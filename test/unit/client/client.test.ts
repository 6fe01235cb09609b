// createClient's verbs and error mapping against a scripted fetch.
import assert from "node:assert/strict";
import { test } from "node:test";
import { CoterieClientError, createClient, isCoterieClientError } from "../../../src/client/index.ts";
import { CoterieError } from "../../../src/util/errors.ts";
import { json, scriptedFetch } from "./fake.ts";

const url = "https://node.example";
const fastPoll = { poll: { initialDelayMs: 1, delayMsMax: 2 } };

test("error bodies become CoterieClientErrors narrowable by code", async () => {
  const fetch = scriptedFetch([
    json(404, { error: { code: "COTERIE_ERR_NOT_FOUND", message: "no such id", details: { id: 3 } } }),
  ]);
  const e = await createClient({ url, fetch })
    .get("/app/x")
    .catch((x: unknown) => x);
  assert.ok(isCoterieClientError(e));
  assert.ok(e instanceof CoterieError, "a CoterieClientError is a CoterieError");
  assert.equal(e.code, "COTERIE_ERR_NOT_FOUND");
  assert.equal(e.status, 404);
  assert.equal(e.message, "no such id");
  assert.deepEqual(e.details, { id: 3 });
  assert.equal(e.remoteCode, "COTERIE_ERR_NOT_FOUND");
});

test("an unknown code or a non-JSON error is BAD_RESPONSE and keeps what the service said", async () => {
  const fetch = scriptedFetch([
    json(418, { error: { code: "COTERIE_ERR_FROM_THE_FUTURE", message: "new" } }),
    new Response("<html>proxy error</html>", { status: 502 }),
  ]);
  const client = createClient({ url, fetch, readRetriesMax: 0 });
  await assert.rejects(client.get("/a"), {
    code: "COTERIE_ERR_CLIENT_BAD_RESPONSE",
    remoteCode: "COTERIE_ERR_FROM_THE_FUTURE",
    status: 418,
  });
  await assert.rejects(client.get("/b"), { code: "COTERIE_ERR_CLIENT_BAD_RESPONSE", status: 502 });
});

test("write with waitForCommit asks for respond-on-commit and returns the receipt", async () => {
  const receipt = { transaction_id: "1.4" };
  const fetch = scriptedFetch([
    json(200, { transaction_id: "1.4", status: "Committed", receipt, response: { ok: true } }),
  ]);
  const w = await createClient({ url, fetch }).write("/app/log", { id: 1 }, { waitForCommit: true });
  assert.equal(fetch.calls[0]?.headers["x-coterie-wait-for-commit"], "true");
  assert.equal(fetch.calls[0]?.headers["content-type"], "application/json");
  assert.deepEqual(w, { transactionId: "1.4", status: "Committed", response: { ok: true }, receipt });
});

test("a write's own response body is returned when it is not just the id", async () => {
  const fetch = scriptedFetch([json(200, { created: 5 }, { "x-coterie-transaction-id": "1.5" })]);
  assert.deepEqual(await createClient({ url, fetch }).write("/app/x", {}), {
    transactionId: "1.5",
    status: "Pending",
    response: { created: 5 },
  });
});

test("waitForCommit polls through Unknown and Pending to Committed", async () => {
  const fetch = scriptedFetch(
    ["Unknown", "Pending", "Committed"].map((status) => json(200, { transaction_id: "2.3", status })),
  );
  assert.deepEqual(await createClient({ url, fetch }).waitForCommit("2.3", fastPoll), {
    transactionId: "2.3",
    status: "Committed",
  });
  assert.equal(fetch.calls.length, 3);
  assert.equal(fetch.calls[0]?.url, "https://node.example/app/tx?transaction_id=2.3");
});

test("waitForCommit: Invalid throws TX_INVALIDATED; the deadline throws CLIENT_TIMEOUT", async () => {
  const invalid = scriptedFetch([json(200, { transaction_id: "2.3", status: "Invalid" })]);
  await assert.rejects(createClient({ url, fetch: invalid }).waitForCommit("2.3"), {
    code: "COTERIE_ERR_TX_INVALIDATED",
    transactionId: "2.3",
  });
  const pending = scriptedFetch(
    Array.from({ length: 1000 }, () => json(200, { transaction_id: "2.3", status: "Pending" })),
  );
  const started = Date.now();
  await assert.rejects(
    createClient({ url, fetch: pending }).waitForCommit("2.3", { timeoutMs: 100, ...fastPoll }),
    {
      code: "COTERIE_ERR_CLIENT_TIMEOUT",
      message: /still Pending/,
    },
  );
  assert.ok(Date.now() - started < 1000);
});

test("waitForCommit honours an AbortSignal", async () => {
  const controller = new AbortController();
  const fetch = scriptedFetch(
    Array.from({ length: 1000 }, () => json(200, { transaction_id: "2.3", status: "Pending" })),
  );
  setTimeout(() => controller.abort(new Error("user left")), 30);
  await assert.rejects(
    createClient({ url, fetch }).waitForCommit("2.3", { signal: controller.signal, timeoutMs: 10_000 }),
    {
      code: "COTERIE_ERR_CLIENT_ABORTED",
    },
  );
});

test("getReceipt of a pending transaction throws RECEIPT_NOT_READY (202)", async () => {
  const fetch = scriptedFetch([
    json(202, { error: { code: "COTERIE_ERR_RECEIPT_NOT_READY", message: "not yet" } }),
  ]);
  await assert.rejects(createClient({ url, fetch }).getReceipt("1.2"), {
    code: "COTERIE_ERR_RECEIPT_NOT_READY",
    status: 202,
  });
});

test("inputs are checked at the boundary", async () => {
  const client = createClient({ url, fetch: scriptedFetch([]) });
  await assert.rejects(async () => client.getReceipt("1.x"), RangeError);
  assert.throws(() => createClient({ url, fetch: scriptedFetch([]), redirectsMax: -1 }), RangeError);
  assert.throws(() => client.verifyReceipt({}), TypeError);
  assert.ok(new CoterieClientError("COTERIE_ERR_CLIENT_TIMEOUT", "x").status === 0);
});
