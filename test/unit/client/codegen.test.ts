// `coterie app client`: a hand-written OpenAPI document → TypeScript that type-checks, calls the
// right routes with the right methods, and rejects wrong argument types at compile time.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { test } from "node:test";
import { generateAppClient, typeOf } from "../../../src/client/codegen.ts";
import { createClient } from "../../../src/client/index.ts";
import { json, scriptedFetch } from "./fake.ts";

const root = resolve(import.meta.dirname, "../../..");
const doc = JSON.parse(readFileSync(join(import.meta.dirname, "fixtures/logging.openapi.json"), "utf8"));

function generateInto(dir: string, extra: string): string {
  const source = generateAppClient(doc, { importFrom: join(root, "src/client/index.ts") });
  writeFileSync(join(dir, "logging-client.ts"), source);
  writeFileSync(join(dir, "package.json"), '{"type":"module"}');
  writeFileSync(join(dir, "use.ts"), `import { createLoggingClient } from "./logging-client.ts";\n${extra}`);
  writeFileSync(
    join(dir, "tsconfig.json"),
    JSON.stringify({
      extends: join(root, "tsconfig.json"),
      compilerOptions: { types: [], typeRoots: [join(root, "node_modules/@types")] },
      include: [join(dir, "*.ts")],
    }),
  );
  return source;
}

function tsc(dir: string): string {
  try {
    execFileSync(join(root, "node_modules/.bin/tsc"), ["--noEmit", "-p", join(dir, "tsconfig.json")], {
      encoding: "utf8",
    });
    return "";
  } catch (e) {
    return String((e as { stdout?: string }).stdout);
  }
}

test("schemas map to TypeScript types", () => {
  assert.equal(
    typeOf(
      { type: "object", required: ["a"], properties: { a: { type: "integer" }, "b-c": { type: "string" } } },
      0,
    ),
    '{ a: number; "b-c"?: string }',
  );
  assert.equal(typeOf({ type: ["string", "null"] }, 0), "string | null");
  assert.equal(typeOf({ enum: ["x", 1, null] }, 0), '"x" | 1 | null');
  assert.equal(
    typeOf({ type: "array", items: { $ref: "#/components/schemas/log-entry" } }, 0),
    "Array<LogEntry>",
  );
  assert.equal(typeOf({ allOf: [{ type: "string" }, { const: "k" }] }, 0), '(string) & ("k")');
  assert.equal(typeOf({ type: "integer", nullable: true }, 0), "number | null");
  assert.equal(typeOf({ format: "weird" }, 0), "unknown");
  assert.throws(() => typeOf(nest(40), 0), RangeError);
  assert.throws(() => generateAppClient({ openapi: "2.0" }), TypeError);
});

function nest(n: number): unknown {
  let s: unknown = { type: "string" };
  for (let i = 0; i < n; i++) s = { type: "array", items: s };
  return s;
}

test("the generated client type-checks, and misuse does not", () => {
  const dir = mkdtempSync(join(tmpdir(), "coterie-codegen-"));
  const source = generateInto(
    dir,
    [
      'import { createClient } from "' + join(root, "src/client/index.ts") + '";',
      'const app = createLoggingClient(createClient({ url: "https://x" }));',
      'export const a = app.postLogPrivate({ id: 1, msg: "m" }, { waitForCommit: true });',
      "export const b = app.getLogPrivate({ id: 1 }).then((e) => e.msg.toUpperCase());",
      "export const c = app.privateHistory({ id: 1 }).then((h) => h.entries[0]?.seqno);",
      'export const d = app.putItemsByItemId({ "item-id": "i1" }, { kind: "a", tags: ["t"] });',
      'export const e: Promise<Array<{ id: number; msg: string }>> = app.search({ prefix: "m" });',
    ].join("\n"),
  );
  assert.match(source, /\* \/ safely/, "a */ in a summary cannot close the doc comment");
  assert.equal(tsc(dir), "", "generated client and correct use type-check");
  generateInto(
    dir,
    'declare const app: ReturnType<typeof createLoggingClient>;\nexport const bad = app.postLogPrivate({ id: "1", msg: 2 });\n',
  );
  assert.match(tsc(dir), /error TS2322/, "wrong body types are compile errors");
});

test("generated calls hit the right routes with the right methods", async () => {
  const dir = mkdtempSync(join(tmpdir(), "coterie-codegen-run-"));
  generateInto(dir, "");
  const { createLoggingClient } = (await import(join(dir, "logging-client.ts"))) as {
    createLoggingClient: (
      c: ReturnType<typeof createClient>,
    ) => Record<string, (...args: unknown[]) => Promise<unknown>>;
  };
  const fetch = scriptedFetch([
    json(200, { transaction_id: "1.2" }),
    json(200, { id: 1, msg: "m" }),
    json(200, { entries: [] }),
    new Response(null, { status: 204, headers: { "x-coterie-transaction-id": "1.3" } }),
    json(200, [{ id: 1, msg: "m" }]),
  ]);
  const app = createLoggingClient(createClient({ url: "https://node.example", fetch }));
  await app.postLogPrivate?.({ id: 1, msg: "m" });
  assert.deepEqual(await app.getLogPrivate?.({ id: 1 }), { id: 1, msg: "m" });
  await app.privateHistory?.({ id: 1, from_seqno: 3 });
  await app.deleteItemsByItemId?.({ "item-id": "a/b" });
  assert.deepEqual(
    await app.search?.({ prefix: "m" }),
    [{ id: 1, msg: "m" }],
    "a read-only POST returns its body",
  );
  assert.deepEqual(
    fetch.calls.map((c) => `${c.method} ${c.url.replace("https://node.example", "")}`),
    [
      "POST /app/log/private",
      "GET /app/log/private?id=1",
      "GET /app/log/private/history?id=1&from_seqno=3",
      "DELETE /app/items/a%2Fb",
      "POST /app/search",
    ],
  );
});
