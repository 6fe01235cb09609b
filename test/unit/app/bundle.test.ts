// Governed bundles on the host: validation at proposal time (syntax, ABI, missing handler, bad
// shapes, unknown policies, bad limits) and the sandbox limits a handler runs under (time, memory,
// thrown errors, CoterieErrors passed through), with the read policy applied to bundle reads.
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { confidentialTable, guardTx, type HandlerContext, utf8 } from "../../../src/app/index.ts";
import { buildAppBundle } from "../../../src/cli/app.ts";
import { Store } from "../../../src/kv/index.ts";
import { appCrypto } from "../../../src/node/app-runner.ts";
import { loadBundle, validateAppBundle } from "../../../src/node/bundle.ts";

const appDir = mkdtempSync(join(tmpdir(), "coterie-unit-app-"));
writeFileSync(
  join(appDir, "index.ts"),
  `import { CoterieError, confidentialTable, defineApp, utf8 } from "coterie/app";
const notes = confidentialTable("notes", utf8, { readableBy: ["owner"] });
export default defineApp({ name: "unit", tables: [notes], endpoints: [
  { method: "POST", path: "/notes/{id}", auth: ["user_cert"], mode: "readwrite", handler(ctx) {
      notes.in(ctx.tx).put(ctx.request.params.id, { owner: ctx.readerParties[0], text: ctx.request.json().text }); } },
  { method: "GET", path: "/notes", auth: ["user_cert"], mode: "readonly", handler(ctx) {
      return { body: notes.in(ctx.tx).range({ limit: 10 }).entries.map(([k]) => k) }; } },
  { method: "GET", path: "/notes/{id}", auth: ["user_cert"], mode: "readonly", handler(ctx) {
      const n = notes.in(ctx.tx).get(ctx.request.params.id);
      if (n === undefined) throw new CoterieError("COTERIE_ERR_NOT_FOUND", "no note");
      return { status: 200, body: n, headers: { "x-h": "1" } }; } },
  { method: "POST", path: "/loop", auth: ["no_auth"], mode: "readwrite", handler() { for (;;) {} } },
  { method: "POST", path: "/bomb", auth: ["no_auth"], mode: "readwrite", handler() { const a = []; for (;;) a.push(new Array(1e5).fill(1)); } },
  { method: "POST", path: "/mapbomb", auth: ["no_auth"], mode: "readwrite", handler() { const m = new Map(); for (let i = 0; ; i++) m.set(i, { i }); } },
  { method: "POST", path: "/throw", auth: ["no_auth"], mode: "readwrite", handler() { throw new TypeError("oops"); } },
  { method: "GET", path: "/hash", auth: ["no_auth"], mode: "readonly", handler(ctx) {
      return { body: Array.from(ctx.crypto.sha256(utf8.encode("abc"))).slice(0, 4) }; } },
]});
`,
);
const source = await buildAppBundle(appDir);
const notes = confidentialTable<{ owner: string; text: string }>("notes", utf8, { readableBy: ["owner"] });

function ctxFor(
  store: Store,
  readers: string[],
  params: Record<string, string> = {},
  body: unknown = null,
): { ctx: HandlerContext; tx: ReturnType<Store["beginTx"]> } {
  const raw = store.beginTx({ reservedWrites: false });
  const tx = guardTx(raw, [notes], readers);
  const bytes = new TextEncoder().encode(JSON.stringify(body));
  const ctx: HandlerContext = {
    request: {
      method: "GET",
      path: "/",
      params,
      query: new URLSearchParams(),
      headers: {},
      body: bytes,
      json: () => body,
    },
    caller: { policy: "no_auth" },
    readerParties: readers,
    tx,
    setClaimsDigest() {},
    historical: { committedSeqno: 0, writes: () => [], mapWrites: () => [] },
    crypto: appCrypto,
    untrustedTime: () => 1,
  };
  return { ctx, tx: raw };
}

const endpoint = (b: ReturnType<typeof loadBundle>, method: string, path: string) => {
  const e = b.app.endpoints.find((x) => x.method === method && x.path === path);
  assert.ok(e, `${method} ${path}`);
  return e;
};

describe("bundle validation", () => {
  test("a built bundle is valid and describes its endpoints and tables", () => {
    assert.deepEqual(validateAppBundle(source), { ok: true });
    const b = loadBundle(source);
    assert.equal(b.app.name, "unit");
    assert.deepEqual(b.app.tables, [{ name: "notes", readableBy: ["owner"] }]);
    assert.equal(b.app.endpoints.length, 8);
    b.dispose();
  });
  const cases: Array<[string, string, RegExp]> = [
    ["syntax error", "export const = ;", /COTERIE_ERR_SANDBOX_SYNTAX/],
    ["no describe export", "export function x() {}", /COTERIE_ERR_SANDBOX_MISSING_EXPORT/],
    ["imports", 'import x from "y"; export function coterie_app() {}', /COTERIE_ERR_SANDBOX_IMPORT/],
    ["wrong ABI", "export function coterie_app() { return { abi: 2 }; }", /unsupported bundle ABI/],
    [
      "missing handler",
      source.replace(["handler: `endpoint_", "$", "{i}`"].join(""), 'handler: "nope"'),
      /handler nope is not an exported function/,
    ],
    [
      "unknown policy",
      source.replace('auth: ["no_auth"]', 'auth: ["telepathy"]'),
      /auth policy this node does not know/,
    ],
    [
      "public confidential table",
      source.replace('confidentialTable("notes"', 'confidentialTable("public:notes"'),
      /COTERIE_ERR_SANDBOX_THROWN|cannot be public/,
    ],
    ["top-level loop", "for (;;) {} export function coterie_app() {}", /COTERIE_ERR_SANDBOX_TIMEOUT/],
  ];
  for (const [why, src, reason] of cases) {
    test(`refused: ${why}`, () => {
      const r = validateAppBundle(src);
      assert.equal(r.ok, false);
      assert.match((r as { reason: string }).reason, reason);
    });
  }
  test("a confidential table the bundle forgot to list is enforced anyway", async () => {
    const dir = mkdtempSync(join(tmpdir(), "coterie-unit-forgot-"));
    writeFileSync(
      join(dir, "index.ts"),
      `import { confidentialTable, defineApp, utf8 } from "coterie/app";
const secrets = confidentialTable("secrets", utf8, { readableBy: ["owner"] });
export default defineApp({ name: "forgetful", endpoints: [
  { method: "GET", path: "/s/{id}", auth: ["no_auth"], mode: "readonly", handler: (ctx) => ({ body: secrets.in(ctx.tx).get(ctx.request.params.id) ?? null }) },
]});`,
    );
    const forgetful = loadBundle(await buildAppBundle(dir), {}, "forgetful.js", "in-process");
    assert.deepEqual(forgetful.app.tables, [{ name: "secrets", readableBy: ["owner"] }]);
    forgetful.dispose();
  });

  test("refused: limits outside their range", () => {
    const r = validateAppBundle(source, { memoryBytesMax: 1 });
    assert.match((r as { reason: string }).reason, /COTERIE_ERR_APP_BUNDLE_INVALID: limits/);
  });
});

describe("bundle handlers", () => {
  const b = loadBundle(source, { callTimeoutMs: 200, memoryBytesMax: 16 * 1024 * 1024 });
  const store = new Store();
  after(() => b.dispose());

  test("writes and reads go through the guarded transaction of the host", async () => {
    for (const [owner, id] of [
      ["alice", "n1"],
      ["bob", "n2"],
    ] as const) {
      const { ctx, tx } = ctxFor(store, [owner], { id }, { text: `hi ${owner}` });
      await endpoint(b, "POST", "/notes/{id}").handler(ctx);
      assert.equal(store.commit(tx).status, "ok");
    }
    const list = await endpoint(b, "GET", "/notes").handler(ctxFor(store, ["alice"]).ctx);
    assert.deepEqual((list as { body: unknown }).body, ["n1"]);
    const mine = (await endpoint(b, "GET", "/notes/{id}").handler(
      ctxFor(store, ["alice"], { id: "n1" }).ctx,
    )) as { body: unknown; headers: unknown };
    assert.deepEqual(mine.body, { owner: "alice", text: "hi alice" });
    assert.deepEqual(mine.headers, { "x-h": "1" });
    await assert.rejects(
      async () => endpoint(b, "GET", "/notes/{id}").handler(ctxFor(store, ["alice"], { id: "n2" }).ctx),
      (e: { code?: string }) => e.code === "COTERIE_ERR_NOT_FOUND",
    );
    const { ctx } = ctxFor(store, ["alice"], { id: "n2" }, { text: "overwrite" });
    await assert.rejects(
      async () => endpoint(b, "POST", "/notes/{id}").handler(ctx),
      (e: { code?: string }) => e.code === "COTERIE_ERR_FORBIDDEN",
    );
  });

  test("crypto helpers cross the boundary", async () => {
    const out = (await endpoint(b, "GET", "/hash").handler(ctxFor(store, []).ctx)) as { body: number[] };
    assert.deepEqual(out.body, [0xba, 0x78, 0x16, 0xbf]);
  });

  test("an infinite loop stops at the time limit, an allocation bomb at the memory limit, and the bundle keeps working", async () => {
    const started = Date.now();
    await assert.rejects(
      async () => endpoint(b, "POST", "/loop").handler(ctxFor(store, []).ctx),
      (e: { code?: string }) => e.code === "COTERIE_ERR_SANDBOX_TIMEOUT",
    );
    assert.ok(Date.now() - started < 2000);
    // The bomb gets a generous time limit, so only the memory limit can stop it: on a loaded machine
    // filling 16 MiB can take longer than the 200 ms the loop is held to.
    const roomy = loadBundle(source, { callTimeoutMs: 10_000, memoryBytesMax: 16 * 1024 * 1024 });
    await assert.rejects(
      async () => endpoint(roomy, "POST", "/bomb").handler(ctxFor(store, []).ctx),
      (e: { code?: string }) => e.code === "COTERIE_ERR_SANDBOX_MEMORY",
    );
    for (const bundle of [b, roomy]) {
      const out = (await endpoint(bundle, "GET", "/hash").handler(ctxFor(store, []).ctx)) as {
        body: number[];
      };
      assert.equal(out.body.length, 4);
    }
    roomy.dispose();
  });

  test("a Map bomb, which aborts a whole V8 process (isolated-vm#527), kills only the bundle's child process", async () => {
    const big = loadBundle(source, { callTimeoutMs: 10_000, memoryBytesMax: 16 * 1024 * 1024 });
    await assert.rejects(
      async () => endpoint(big, "POST", "/mapbomb").handler(ctxFor(store, []).ctx),
      (e: { code?: string }) => e.code === "COTERIE_ERR_SANDBOX_MEMORY",
    );
    const out = (await endpoint(big, "GET", "/hash").handler(ctxFor(store, []).ctx)) as { body: number[] };
    assert.equal(out.body.length, 4, "the next call gets a fresh child");
    big.dispose();
  });

  test("a plain exception is not a client error: a host Error (500 with an error id), message kept for the log", async () => {
    await assert.rejects(
      async () => endpoint(b, "POST", "/throw").handler(ctxFor(store, []).ctx),
      (e: Error & { code?: string }) => e.code === undefined && /oops/.test(e.message),
    );
  });
});
