import { CoterieError } from "../util/errors.ts";
import {
  checkConfidentialSpec,
  checkEndpointShape,
  endpointsMax,
  invalid,
  withDeclaredTables,
} from "./shape.ts";
import type { App, AuthRequirement } from "./types.ts";

export { checkEndpointShape, endpointsMax, isWellFormedAuth } from "./shape.ts";

/**
 * Declares an application, checking every endpoint once: a known method, a well-formed path
 * template, well-formed auth requirements, a handler, no two endpoints on one route, and
 * well-formed confidential tables. Every `confidentialTable` declared before this call is enforced
 * whether or not `tables` lists it (the returned app lists them all).
 *
 * @example
 * export default defineApp({ name: "hello", endpoints: [
 *   { method: "GET", path: "/hello", auth: ["no_auth"], mode: "readonly", handler: () => ({ body: "hi" }) },
 * ]});
 */
export function defineApp(app: App): App {
  if (typeof app.name !== "string" || app.name === "")
    throw new CoterieError("COTERIE_ERR_INVALID_INPUT", "app name is required");
  if (!Array.isArray(app.endpoints) || app.endpoints.length > endpointsMax) {
    throw new CoterieError("COTERIE_ERR_INVALID_INPUT", `an app has at most ${endpointsMax} endpoints`);
  }
  const seen = new Set<string>();
  for (const e of app.endpoints) {
    const route = checkEndpointShape(e);
    if (typeof e.handler !== "function") throw invalid(e, "handler must be a function");
    if (seen.has(route)) throw invalid(e, "another endpoint has the same route");
    seen.add(route);
  }
  const names = new Set<string>();
  for (const t of app.tables ?? []) {
    try {
      checkConfidentialSpec(t);
    } catch (error) {
      throw new CoterieError("COTERIE_ERR_INVALID_INPUT", (error as Error).message);
    }
    if (names.has(t.name))
      throw new CoterieError("COTERIE_ERR_INVALID_INPUT", `table ${t.name} is listed twice`);
    names.add(t.name);
  }
  try {
    return { ...app, tables: withDeclaredTables(app.tables) };
  } catch (error) {
    throw new CoterieError("COTERIE_ERR_INVALID_INPUT", (error as Error).message);
  }
}

/** The policy names an auth list uses, flattened (for checking them against the node's table). */
export function policyNamesOf(auth: readonly AuthRequirement[]): string[] {
  return auth.flatMap((a) => (typeof a === "string" ? [a] : [...a.all_of]));
}
