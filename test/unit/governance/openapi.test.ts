// The governance OpenAPI description is generated from the endpoint list the node serves: every
// route appears once with its method, path parameters, COSE request body and security.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ConstitutionRuntime } from "../../../src/governance/index.ts";
import { createGovernanceApp } from "../../../src/node/gov-app.ts";

test("every governance endpoint is described, with path parameters and COSE bodies", async () => {
  const runtime = new ConstitutionRuntime();
  try {
    const app = createGovernanceApp(runtime);
    const doc = (await app.endpoints.find((e) => e.path === "/v1/openapi.json")!.handler({} as never)) as {
      body: { openapi: string; paths: Record<string, Record<string, Operation>> };
    };
    const { paths, openapi } = doc.body;
    assert.equal(openapi, "3.1.0");
    for (const e of app.endpoints) {
      const op = paths[`/gov${e.path}`]?.[e.method.toLowerCase()];
      assert.ok(op, `${e.method} ${e.path}`);
      const names = [...e.path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
      assert.deepEqual(
        (op.parameters ?? []).map((p) => p.name),
        names,
      );
      const signed = e.auth.includes("member_cose_sign1");
      assert.equal(Boolean(op.requestBody?.content?.["application/cose"]), signed, e.path);
      if (e.auth.includes("member_cert")) assert.deepEqual(op.security, [{ member_cert: [] }]);
    }
    assert.equal(
      Object.values(paths).reduce((n, p) => n + Object.keys(p).length, 0),
      app.endpoints.length,
    );
  } finally {
    runtime.dispose();
  }
});

/** The parts of an OpenAPI operation object this test reads. */
type Operation = {
  parameters?: Array<{ name: string }>;
  requestBody?: { content?: Record<string, unknown> };
  security?: unknown;
};
