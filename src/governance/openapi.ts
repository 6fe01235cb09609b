/**
 * An OpenAPI 3.1 document generated from a list of routes (the node passes the governance
 * endpoints), so the description cannot drift from what is served.
 */
export type OpenApiRoute = {
  method: string;
  /** Path template with `{name}` parameters, e.g. `/gov/v1/proposals/{proposal_id}`. */
  path: string;
  summary: string;
  /** Authentication policies; `member_cose_sign1` means an `application/cose` body. */
  auth: readonly string[];
};

const securitySchemes = {
  member_cert: { type: "mutualTLS", description: "A member's TLS client certificate." },
  member_cose_sign1: {
    type: "http",
    scheme: "cose-sign1",
    description: "The body is a COSE Sign1 governance request signed by a member (docs/governance.md).",
  },
};

function operation(route: OpenApiRoute) {
  const params = [...route.path.matchAll(/\{([^}]+)\}/g)].map((m) => ({
    name: m[1],
    in: "path",
    required: true,
    schema: { type: "string" },
  }));
  const signed = route.auth.includes("member_cose_sign1");
  const security = route.auth.filter((a) => a !== "no_auth").map((a) => ({ [a]: [] }));
  return {
    summary: route.summary,
    ...(params.length > 0 ? { parameters: params } : {}),
    ...(signed
      ? {
          requestBody: {
            required: true,
            content: { "application/cose": { schema: { type: "string", format: "binary" } } },
          },
        }
      : {}),
    ...(security.length > 0 ? { security } : {}),
    responses: {
      "200": { description: "OK", content: { "application/json": { schema: { type: "object" } } } },
      default: { description: "An error: { error: { code, message, details? } } (docs/errors.md)" },
    },
  };
}

export function openApiDocument(routes: readonly OpenApiRoute[], version = "1"): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    paths[r.path] ??= {};
    (paths[r.path] as Record<string, unknown>)[r.method.toLowerCase()] = operation(r);
  }
  return {
    openapi: "3.1.0",
    info: { title: "Coterie governance API", version },
    components: { securitySchemes },
    paths,
  };
}
