import { CoterieError } from "../util/errors.ts";
import type { App, AuthPolicy, Endpoint, HttpMethod } from "./types.ts";

const methods: readonly HttpMethod[] = ["GET", "POST", "PUT", "PATCH", "DELETE"];
const policies: readonly AuthPolicy[] = ["user_cert", "member_cert", "no_auth"];
const segment = /^(?:[A-Za-z0-9._~-]+|\{[A-Za-z_][A-Za-z0-9_]*\})$/;

function invalid(endpoint: Endpoint, why: string): CoterieError {
  return new CoterieError(
    "COTERIE_ERR_INVALID_INPUT",
    `endpoint ${endpoint.method} ${endpoint.path}: ${why}`,
  );
}

/**
 * Declares an application, checking every endpoint once: a known method, a well-formed path
 * template, at least one known auth policy, a handler, and no two endpoints on one route.
 *
 * @example
 * export default defineApp({ name: "hello", endpoints: [
 *   { method: "GET", path: "/hello", auth: ["no_auth"], mode: "readonly", handler: () => ({ body: "hi" }) },
 * ]});
 */
export function defineApp(app: App): App {
  if (typeof app.name !== "string" || app.name === "")
    throw new CoterieError("COTERIE_ERR_INVALID_INPUT", "app name is required");
  const seen = new Set<string>();
  for (const e of app.endpoints) {
    if (!methods.includes(e.method)) throw invalid(e, "unknown method");
    if (
      !e.path.startsWith("/") ||
      !e.path
        .slice(1)
        .split("/")
        .every((s) => segment.test(s))
    ) {
      throw invalid(e, "path must be /segment/... with segments [A-Za-z0-9._~-] or {name}");
    }
    if (e.auth.length === 0 || !e.auth.every((p) => policies.includes(p)))
      throw invalid(e, "auth lists known policies");
    if (!["readwrite", "readonly", "historical"].includes(e.mode)) throw invalid(e, "unknown mode");
    if (typeof e.handler !== "function") throw invalid(e, "handler must be a function");
    const route = `${e.method} ${e.path.replace(/\{[^}]+\}/g, "{}")}`;
    if (seen.has(route)) throw invalid(e, "another endpoint has the same route");
    seen.add(route);
  }
  return app;
}
