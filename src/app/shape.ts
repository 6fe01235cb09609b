/**
 * Shape checks of endpoints and confidential tables that need nothing but plain JavaScript, so the
 * same code runs on the host (`defineApp`, bundle validation) and inside a bundle (src/app/guest.ts).
 */
import { CoterieError } from "../util/errors.ts";
import type { AuthRequirement, ConfidentialSpec, Endpoint, HttpMethod } from "./types.ts";

/** Longest `readableBy` list and party list per record; bounds the policy check. */
export const partiesPerRecordMax = 64;
const fieldName = /^[A-Za-z_][A-Za-z0-9_]*$/;

const methods: readonly HttpMethod[] = ["GET", "POST", "PUT", "PATCH", "DELETE"];
const modes = ["readwrite", "readonly", "historical"];
const segment = /^(?:[A-Za-z0-9._~-]+|\{[A-Za-z_][A-Za-z0-9_]*\})$/;
/** Policy names are checked against the node's authenticators when the app is mounted. */
const policyName = /^[a-z][a-z0-9_]{0,63}$/;
/** Most endpoints one app may declare (bundles export one function per endpoint). */
export const endpointsMax = 64;
/** Most policies in one endpoint's `auth` list, and in one `all_of`. */
export const authEntriesMax = 8;

export function invalid(endpoint: Pick<Endpoint, "method" | "path">, why: string): CoterieError {
  return new CoterieError(
    "COTERIE_ERR_INVALID_INPUT",
    `endpoint ${endpoint.method} ${endpoint.path}: ${why}`,
  );
}

/** True iff `auth` is a non-empty list of policy names or `{ all_of: [names] }`. */
export function isWellFormedAuth(auth: unknown): auth is readonly AuthRequirement[] {
  if (!Array.isArray(auth) || auth.length === 0 || auth.length > authEntriesMax) return false;
  return auth.every((a: unknown) => {
    if (typeof a === "string") return policyName.test(a);
    if (a === null || typeof a !== "object" || Object.keys(a).join() !== "all_of") return false;
    const list = (a as { all_of: unknown }).all_of;
    return (
      Array.isArray(list) &&
      list.length > 0 &&
      list.length <= authEntriesMax &&
      list.every((p) => typeof p === "string" && policyName.test(p) && p !== "no_auth")
    );
  });
}

/** Checks everything about an endpoint except its handler. Returns its route key. */
export function checkEndpointShape(e: Omit<Endpoint, "handler">): string {
  if (!methods.includes(e.method)) throw invalid(e, "unknown method");
  if (
    typeof e.path !== "string" ||
    !e.path.startsWith("/") ||
    !e.path
      .slice(1)
      .split("/")
      .every((s) => segment.test(s))
  ) {
    throw invalid(e, "path must be /segment/... with segments [A-Za-z0-9._~-] or {name}");
  }
  if (!isWellFormedAuth(e.auth)) throw invalid(e, "auth lists policy names or { all_of: [names] }");
  if (!modes.includes(e.mode)) throw invalid(e, "unknown mode");
  for (const s of [e.requestSchema, e.responseSchema]) {
    if (s !== undefined && (s === null || typeof s !== "object" || Array.isArray(s)))
      throw invalid(e, "a schema must be an object");
  }
  return `${e.method} ${e.path.replace(/\{[^}]+\}/g, "{}")}`;
}

/** Labelled guard for a spec (also used on specs that come out of a bundle). */
export function checkConfidentialSpec(spec: ConfidentialSpec): ConfidentialSpec {
  if (typeof spec.name !== "string" || spec.name === "") throw new TypeError("table name is required");
  if (spec.name.startsWith("public:")) {
    throw new TypeError(
      `confidential table ${spec.name} cannot be public: public maps are plaintext in the ledger`,
    );
  }
  const fields = spec.readableBy;
  if (!Array.isArray(fields) || fields.length === 0 || fields.length > partiesPerRecordMax) {
    throw new TypeError(`table ${spec.name}: readableBy lists 1 to ${partiesPerRecordMax} field names`);
  }
  for (const f of fields) {
    if (typeof f !== "string" || !fieldName.test(f))
      throw new TypeError(`table ${spec.name}: bad field ${String(f)}`);
  }
  return Object.freeze({ name: spec.name, readableBy: Object.freeze([...fields]) });
}

/**
 * Every confidential table declared in this module graph (host process or bundle), by name, so
 * `defineApp` enforces a table's policy even if the app forgets to list it in `tables`.
 */
const declaredTables = new Map<string, ConfidentialSpec>();

/** Records a declaration; the same name with another policy is refused. */
export function declareConfidential(spec: ConfidentialSpec): void {
  const previous = declaredTables.get(spec.name);
  if (previous !== undefined && previous.readableBy.join() !== spec.readableBy.join()) {
    throw new TypeError(`confidential table ${spec.name} is declared twice with different readableBy`);
  }
  declaredTables.set(spec.name, spec);
}

/** The listed tables plus every declared one not listed (listed and declared must agree). */
export function withDeclaredTables(listed: readonly ConfidentialSpec[] | undefined): ConfidentialSpec[] {
  const out = new Map<string, ConfidentialSpec>();
  for (const t of listed ?? []) out.set(t.name, t);
  for (const [name, spec] of declaredTables) {
    const mine = out.get(name);
    if (mine !== undefined && mine.readableBy.join() !== spec.readableBy.join()) {
      throw new TypeError(
        `confidential table ${name} is listed with another policy than it was declared with`,
      );
    }
    if (mine === undefined) out.set(name, { name, readableBy: [...spec.readableBy] });
  }
  return [...out.values()];
}
