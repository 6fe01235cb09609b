// The app API at load time: endpoint shapes and auth requirements (all_of), request schemas, and
// the OpenAPI 3.1 description generated from them.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { utf8Decode, utf8Encode } from "../../../src/app/guest-codecs.ts";
import { checkSchema, defineApp, type Endpoint, openApiOf, withOpenApi } from "../../../src/app/index.ts";

const ok: Endpoint = {
  method: "GET",
  path: "/a/{id}",
  auth: ["user_cert"],
  mode: "readonly",
  handler: () => undefined,
};

describe("defineApp", () => {
  test("accepts all_of requirements and refuses malformed ones", () => {
    defineApp({ name: "x", endpoints: [{ ...ok, auth: ["jwt", { all_of: ["user_cert", "jwt"] }] }] });
    for (const auth of [
      [],
      [{ all_of: [] }],
      [{ all_of: ["no_auth", "jwt"] }],
      [{ any_of: ["jwt"] }],
      ["Bad-Name"],
      [{ all_of: ["jwt"], x: 1 }],
    ]) {
      assert.throws(
        () => defineApp({ name: "x", endpoints: [{ ...ok, auth: auth as Endpoint["auth"] }] }),
        /auth/,
        JSON.stringify(auth),
      );
    }
  });

  test("refuses non-object schemas, too many endpoints, duplicate tables", () => {
    assert.throws(
      () => defineApp({ name: "x", endpoints: [{ ...ok, requestSchema: [] as never }] }),
      /schema/,
    );
    const many = Array.from({ length: 65 }, (_, i) => ({ ...ok, path: `/e${i}` }));
    assert.throws(() => defineApp({ name: "x", endpoints: many }), /at most 64/);
    const t = { name: "t", readableBy: ["a"] };
    assert.throws(() => defineApp({ name: "x", endpoints: [ok], tables: [t, t] }), /twice/);
  });
});

describe("checkSchema", () => {
  const schema = {
    type: "object",
    required: ["a"],
    additionalProperties: false,
    properties: {
      a: { type: "string", minLength: 1, maxLength: 3, pattern: "^[a-z]+$" },
      n: { type: "integer", minimum: 0, maximum: 9 },
      l: { type: "array", maxItems: 2, items: { enum: ["x", "y"] } },
    },
  };
  test("accepts conforming values", () => {
    assert.equal(checkSchema(schema, { a: "ab", n: 3, l: ["x"] }), null);
  });
  const bad: Array<[unknown, RegExp]> = [
    [null, /body: must be object/],
    [{}, /body\.a: is required/],
    [{ a: "" }, /shorter/],
    [{ a: "abcd" }, /longer/],
    [{ a: "A" }, /must match/],
    [{ a: "a", n: 1.5 }, /must be integer/],
    [{ a: "a", n: 10 }, /above/],
    [{ a: "a", l: ["x", "y", "x"] }, /more than 2/],
    [{ a: "a", l: ["z"] }, /body\.l\[0\]: must be one of/],
    [{ a: "a", extra: 1 }, /extra: is not allowed/],
  ];
  for (const [value, why] of bad)
    test(`refuses ${JSON.stringify(value)}`, () => assert.match(checkSchema(schema, value) ?? "", why));
  test("depth is bounded", () => {
    let deep: unknown = 1;
    let s: Record<string, unknown> = { type: "number" };
    for (let i = 0; i < 40; i++) {
      deep = [deep];
      s = { type: "array", items: s };
    }
    assert.match(checkSchema(s, deep) ?? "", /deeper/);
  });
});

describe("openApiOf", () => {
  test("paths, parameters, schemas, security (any-of entries, all_of as one entry) and the tx id header", () => {
    const app = withOpenApi(
      defineApp({
        name: "demo",
        version: "2.0.0",
        endpoints: [
          { ...ok, summary: "one" },
          {
            method: "POST",
            path: "/a",
            auth: ["user_cert", { all_of: ["user_cert", "jwt"] }],
            mode: "readwrite",
            handler: () => undefined,
            requestSchema: { type: "object" },
          },
        ],
      }),
    );
    // biome-ignore lint/suspicious/noExplicitAny: walking a JSON document
    const doc = openApiOf(app) as any;
    assert.equal(doc.openapi, "3.1.0");
    assert.deepEqual(doc.info, { title: "demo", version: "2.0.0" });
    assert.deepEqual(doc.paths["/app/a/{id}"].get.parameters, [
      { name: "id", in: "path", required: true, schema: { type: "string" } },
    ]);
    assert.deepEqual(doc.paths["/app/a"].post.security, [{ user_cert: [] }, { user_cert: [], jwt: [] }]);
    assert.deepEqual(doc.paths["/app/a"].post.requestBody.content["application/json"].schema, {
      type: "object",
    });
    assert.ok(doc.paths["/app/a"].post.responses["200"].headers["x-coterie-transaction-id"]);
    assert.deepEqual(doc.paths["/app/openapi.json"].get.security, [{}]);
    assert.deepEqual(Object.keys(doc.components.securitySchemes).sort(), ["jwt", "user_cert"]);
    assert.equal(
      new Set(
        Object.values(doc.paths as Record<string, Record<string, { operationId: string }>>).flatMap((p) =>
          Object.values(p).map((o) => o.operationId),
        ),
      ).size,
      3,
    );
  });
});

describe("guest codecs", () => {
  test("UTF-8 in plain JavaScript matches TextEncoder/TextDecoder (random strings incl. astral)", () => {
    const pool = ["a", "é", "€", "😀", "\u0000", "中", "\u07ff", "\u0800", "\uffff"];
    for (let i = 0; i < 500; i++) {
      let s = "";
      for (let k = 0; k < i % 20; k++) s += pool[(i * 7 + k * 13) % pool.length];
      const bytes = utf8Encode(s);
      assert.deepEqual(bytes, new TextEncoder().encode(s));
      assert.equal(utf8Decode(bytes), s);
    }
    assert.throws(() => utf8Decode(new Uint8Array([0xc3])), /invalid UTF-8/);
    assert.throws(() => utf8Decode(new Uint8Array([0xe2, 0x28, 0xa1])), /invalid UTF-8/);
  });
});

describe("confidential tables the app forgot to list", () => {
  test("are enforced anyway: defineApp lists every declared table; a conflicting declaration is refused", async () => {
    const { confidentialTable, utf8 } = await import("../../../src/app/index.ts");
    confidentialTable("forgotten", utf8, { readableBy: ["owner"] });
    const app = defineApp({ name: "x", endpoints: [ok] });
    assert.deepEqual(app.tables?.find((t) => t.name === "forgotten")?.readableBy, ["owner"]);
    assert.throws(() => confidentialTable("forgotten", utf8, { readableBy: ["other"] }), /declared twice/);
    assert.throws(
      () => defineApp({ name: "x", endpoints: [ok], tables: [{ name: "forgotten", readableBy: ["x"] }] }),
      /another policy/,
    );
  });
});
