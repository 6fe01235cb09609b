// Redirects, retries and the never-retry-a-write rule, against a scripted fetch.
import assert from "node:assert/strict";
import { test } from "node:test";
import { CoterieClientError, createClient } from "../../../src/client/index.ts";
import { fastRetry, json, redirect, refused, reset, scriptedFetch } from "./fake.ts";

const url = "https://backup.example:8000";

test("a 307 is followed with method, body and Authorization kept on every hop", async () => {
  const fetch = scriptedFetch([
    redirect("https://node1.example:8001/app/log?x=1"),
    redirect("/app/log?x=2", 308),
    json(200, { transaction_id: "2.7" }, { "x-coterie-transaction-id": "2.7" }),
  ]);
  const client = createClient({ url, fetch, headers: { authorization: "Bearer t" } });
  const w = await client.write("/app/log", { id: 1 });
  assert.deepEqual(w, { transactionId: "2.7", status: "Pending", response: null });
  assert.deepEqual(
    fetch.calls.map((c) => [c.url, c.method, c.headers.authorization, c.body]),
    [
      ["https://backup.example:8000/app/log", "POST", "Bearer t", '{"id":1}'],
      ["https://node1.example:8001/app/log?x=1", "POST", "Bearer t", '{"id":1}'],
      ["https://node1.example:8001/app/log?x=2", "POST", "Bearer t", '{"id":1}'],
    ],
  );
});

test("redirects are bounded, and never lead off https", async () => {
  const loop = scriptedFetch(Array.from({ length: 3 }, () => redirect("/again")));
  await assert.rejects(createClient({ url, fetch: loop, redirectsMax: 2 }).get("/x"), {
    code: "COTERIE_ERR_CLIENT_TOO_MANY_REDIRECTS",
  });
  assert.equal(loop.calls.length, 3);
  const downgrade = scriptedFetch([redirect("http://evil.example/steal")]);
  await assert.rejects(
    createClient({ url, fetch: downgrade, headers: { authorization: "x" } }).get("/x"),
    /off https/,
  );
  assert.equal(downgrade.calls.length, 1);
});

test("a GET is retried on network errors and 503, then succeeds", async () => {
  const fetch = scriptedFetch([
    reset(),
    json(503, { error: { code: "COTERIE_ERR_TOO_MANY_REQUESTS", message: "busy" } }),
    json(200, { ok: 1 }),
  ]);
  assert.deepEqual(await createClient({ url, fetch, ...fastRetry }).get("/node/state"), { ok: 1 });
  assert.equal(fetch.calls.length, 3);
});

test("a GET gives up after readRetriesMax with COTERIE_ERR_CLIENT_NETWORK", async () => {
  const fetch = scriptedFetch([reset(), reset(), reset()]);
  await assert.rejects(createClient({ url, fetch, readRetriesMax: 2, ...fastRetry }).get("/x"), {
    code: "COTERIE_ERR_CLIENT_NETWORK",
    status: 0,
  });
  assert.equal(fetch.calls.length, 3);
});

test("a write is never retried: a broken connection means outcome unknown", async () => {
  const fetch = scriptedFetch([reset(), json(200, {})]);
  const error = await createClient({ url, fetch, ...fastRetry })
    .write("/app/log", { id: 1 })
    .catch((e: unknown) => e);
  assert.ok(error instanceof CoterieClientError);
  assert.equal(error.code, "COTERIE_ERR_CLIENT_OUTCOME_UNKNOWN");
  assert.match(error.message, /may or may not have executed/);
  assert.equal(fetch.calls.length, 1);
});

test("a write whose answer broke off mid-body reports the transaction id it saw", async () => {
  const body = new ReadableStream({
    start(c) {
      c.enqueue(new TextEncoder().encode('{"transaction_'));
      c.error(new Error("socket closed"));
    },
  });
  const fetch = scriptedFetch([
    new Response(body, { status: 200, headers: { "x-coterie-transaction-id": "3.9" } }),
  ]);
  await assert.rejects(createClient({ url, fetch }).write("/app/log", {}), (e: unknown) => {
    assert.ok(e instanceof CoterieClientError);
    assert.equal(e.code, "COTERIE_ERR_CLIENT_OUTCOME_UNKNOWN");
    assert.equal(e.transactionId, "3.9");
    assert.match(e.message, /3\.9/);
    return true;
  });
});

test("a write refused before it was sent is a network error, not an unknown outcome", async () => {
  const fetch = scriptedFetch([refused()]);
  await assert.rejects(createClient({ url, fetch }).write("/app/log", {}), {
    code: "COTERIE_ERR_CLIENT_NETWORK",
    message: /was not sent/,
  });
  assert.equal(fetch.calls.length, 1);
});

test("a write that got a 503 answer is not retried and carries the service's code", async () => {
  const fetch = scriptedFetch([
    json(503, { error: { code: "COTERIE_ERR_TOO_MANY_REQUESTS", message: "busy" } }),
  ]);
  await assert.rejects(createClient({ url, fetch, ...fastRetry }).write("/app/log", {}), {
    code: "COTERIE_ERR_TOO_MANY_REQUESTS",
    status: 503,
  });
  assert.equal(fetch.calls.length, 1);
});

test("a browser's opaque manual redirect is re-issued with redirect: follow", async () => {
  const opaque = Object.defineProperty(new Response(null, { status: 200 }), "type", {
    value: "opaqueredirect",
  });
  const fetch = scriptedFetch([opaque, json(200, { transaction_id: "1.2" })]);
  const w = await createClient({ url, fetch }).write("/app/log", { id: 1 });
  assert.equal(w.transactionId, "1.2");
  assert.equal(fetch.calls.length, 2);
  assert.equal(fetch.calls[1]?.body, '{"id":1}');
});

test("the user's AbortSignal stops a retrying read", async () => {
  const controller = new AbortController();
  const fetch = scriptedFetch([
    () => {
      controller.abort();
      throw reset();
    },
  ]);
  await assert.rejects(createClient({ url, fetch }).get("/x", { signal: controller.signal }), {
    code: "COTERIE_ERR_CLIENT_ABORTED",
  });
});

test("responses over responseBytesMax are refused", async () => {
  const fetch = scriptedFetch([json(200, { big: "x".repeat(100) })]);
  await assert.rejects(createClient({ url, fetch, responseBytesMax: 50 }).get("/x"), {
    code: "COTERIE_ERR_CLIENT_BAD_RESPONSE",
  });
});

test("a write aborted by its caller says its outcome is unknown", async () => {
  const controller = new AbortController();
  const fetch = scriptedFetch([
    () => {
      controller.abort();
      throw new DOMException("aborted", "AbortError");
    },
  ]);
  await assert.rejects(createClient({ url, fetch }).write("/app/log", {}, { signal: controller.signal }), {
    code: "COTERIE_ERR_CLIENT_ABORTED",
    message: /may or may not have executed/,
  });
});

test("an app's own 202 is a success; a 202 error body is an error", async () => {
  const fetch = scriptedFetch([
    json(202, { accepted: true }),
    json(202, { error: { code: "COTERIE_ERR_RECEIPT_NOT_READY", message: "x" } }),
  ]);
  const client = createClient({ url, fetch });
  assert.deepEqual(await client.get("/app/job"), { accepted: true });
  await assert.rejects(client.get("/app/receipt?transaction_id=1.2"), {
    code: "COTERIE_ERR_RECEIPT_NOT_READY",
  });
});
