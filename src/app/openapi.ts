/**
 * The OpenAPI 3.1 description of an app, generated from its endpoints: one operation per
 * endpoint with its path parameters, request and response schemas, and security requirements
 * (any one entry of `auth`; an `all_of` is one requirement naming several schemes).
 */
import type { App, AuthRequirement, Endpoint } from "./types.ts";

const schemes: Record<string, Record<string, unknown>> = {
  user_cert: { type: "mutualTLS", description: "TLS client certificate of a user registered by governance." },
  member_cert: { type: "mutualTLS", description: "TLS client certificate of a consortium member." },
  jwt: {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT",
    description: "JWT from an issuer set by governance (RS256, ES256).",
  },
  user_cose_sign1: {
    type: "http",
    scheme: "cose-sign1",
    description: "Body is a COSE_Sign1 by a user's key; kid = SHA-256 of the user certificate DER.",
  },
  member_cose_sign1: {
    type: "http",
    scheme: "cose-sign1",
    description: "Body is a COSE_Sign1 by a member's key.",
  },
};

const txIdHeader = {
  "x-coterie-transaction-id": {
    description: "The transaction id (view.seqno) of a write.",
    schema: { type: "string" },
  },
};

function security(auth: readonly AuthRequirement[]): Array<Record<string, string[]>> {
  return auth.map((a) => {
    const names = typeof a === "string" ? [a] : [...a.all_of];
    return Object.fromEntries(names.filter((n) => n !== "no_auth").map((n) => [n, []]));
  });
}

function operation(e: Endpoint, prefix: string): Record<string, unknown> {
  const params = [...e.path.matchAll(/\{([^}]+)\}/g)].map((m) => ({
    name: m[1],
    in: "path",
    required: true,
    schema: { type: "string" },
  }));
  const op: Record<string, unknown> = {
    operationId: `${e.method.toLowerCase()}${(prefix + e.path).replace(/[^A-Za-z0-9]+(.)?/g, (_, c: string | undefined) => (c ?? "").toUpperCase())}`,
    "x-coterie-mode": e.mode,
    security: security(e.auth),
    responses: {
      "200": {
        description: "Success.",
        ...(e.mode === "readwrite" ? { headers: txIdHeader } : {}),
        content: { "application/json": { schema: e.responseSchema ?? {} } },
      },
      default: { description: 'An error: {"error":{"code","message"}} (docs/errors.md).' },
    },
  };
  if (e.summary !== undefined) op.summary = e.summary;
  if (params.length > 0) op.parameters = params;
  if (e.requestSchema !== undefined) {
    op.requestBody = { required: true, content: { "application/json": { schema: e.requestSchema } } };
  }
  return op;
}

/** The OpenAPI 3.1 document of `app` mounted under `prefix`. */
export function openApiOf(app: App, prefix = "/app"): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  const used = new Set<string>();
  for (const e of app.endpoints) {
    const item = (paths[prefix + e.path] ??= {});
    item[e.method.toLowerCase()] = operation(e, prefix);
    for (const a of e.auth) for (const n of typeof a === "string" ? [a] : a.all_of) used.add(n);
  }
  const securitySchemes = Object.fromEntries(
    [...used].filter((n) => n !== "no_auth").map((n) => [n, schemes[n] ?? { type: "http", scheme: n }]),
  );
  return {
    openapi: "3.1.0",
    info: { title: app.name, version: app.version ?? "0.0.0" },
    paths,
    components: { securitySchemes },
  };
}

/** The app plus the framework's own `GET /openapi.json` (no auth), describing the app itself. */
export function withOpenApi(app: App, prefix = "/app"): App {
  let document: Record<string, unknown> | null = null;
  const endpoint: Endpoint = {
    method: "GET",
    path: "/openapi.json",
    auth: ["no_auth"],
    mode: "readonly",
    summary: "The OpenAPI 3.1 description of this application.",
    handler: () => ({ body: (document ??= openApiOf(app, prefix)) }),
  };
  const endpoints = app.endpoints.some((e) => e.method === "GET" && e.path === "/openapi.json")
    ? app.endpoints
    : [...app.endpoints, endpoint];
  return { ...app, endpoints };
}
