/**
 * A small JSON Schema checker for request bodies: the keywords app authors use for input checks
 * (`type`, `properties`, `required`, `additionalProperties: false`, `items`, `enum`, `const`,
 * `minLength`, `maxLength`, `pattern`, `minimum`, `maximum`, `minItems`, `maxItems`). Other
 * keywords are documentation only (they reach the OpenAPI description unchanged). Depth is bounded.
 */
import type { JsonSchema } from "./types.ts";

export const schemaDepthMax = 32;

/** Returns null when `value` conforms, else a message naming the first offending path. */
export function checkSchema(schema: JsonSchema, value: unknown, path = "body", depth = 0): string | null {
  if (depth > schemaDepthMax) return `${path}: nested deeper than ${schemaDepthMax}`;
  const s = schema as Record<string, unknown>;
  if (s.type !== undefined) {
    const types = Array.isArray(s.type) ? s.type : [s.type];
    if (!types.some((t) => hasType(t as string, value))) return `${path}: must be ${types.join(" or ")}`;
  }
  if (Array.isArray(s.enum) && !s.enum.some((e) => JSON.stringify(e) === JSON.stringify(value))) {
    return `${path}: must be one of ${JSON.stringify(s.enum)}`;
  }
  if ("const" in s && JSON.stringify(s.const) !== JSON.stringify(value))
    return `${path}: must be ${JSON.stringify(s.const)}`;
  if (typeof value === "string") return checkString(s, value, path);
  if (typeof value === "number") return checkNumber(s, value, path);
  if (Array.isArray(value)) return checkArray(s, value, path, depth);
  if (value !== null && typeof value === "object")
    return checkObject(s, value as Record<string, unknown>, path, depth);
  return null;
}

function hasType(type: string, value: unknown): boolean {
  switch (type) {
    case "null":
      return value === null;
    case "array":
      return Array.isArray(value);
    case "object":
      return value !== null && typeof value === "object" && !Array.isArray(value);
    case "integer":
      return Number.isInteger(value);
    default:
      return typeof value === type;
  }
}

function checkString(s: Record<string, unknown>, v: string, path: string): string | null {
  if (typeof s.minLength === "number" && v.length < s.minLength)
    return `${path}: shorter than ${s.minLength}`;
  if (typeof s.maxLength === "number" && v.length > s.maxLength) return `${path}: longer than ${s.maxLength}`;
  if (typeof s.pattern === "string" && !new RegExp(s.pattern, "u").test(v))
    return `${path}: must match ${s.pattern}`;
  return null;
}

function checkNumber(s: Record<string, unknown>, v: number, path: string): string | null {
  if (typeof s.minimum === "number" && v < s.minimum) return `${path}: below ${s.minimum}`;
  if (typeof s.maximum === "number" && v > s.maximum) return `${path}: above ${s.maximum}`;
  return null;
}

function checkArray(s: Record<string, unknown>, v: unknown[], path: string, depth: number): string | null {
  if (typeof s.minItems === "number" && v.length < s.minItems)
    return `${path}: fewer than ${s.minItems} items`;
  if (typeof s.maxItems === "number" && v.length > s.maxItems)
    return `${path}: more than ${s.maxItems} items`;
  if (s.items !== undefined && typeof s.items === "object") {
    for (let i = 0; i < v.length; i++) {
      const why = checkSchema(s.items as JsonSchema, v[i], `${path}[${i}]`, depth + 1);
      if (why !== null) return why;
    }
  }
  return null;
}

function checkObject(
  s: Record<string, unknown>,
  v: Record<string, unknown>,
  path: string,
  depth: number,
): string | null {
  const props = (s.properties ?? {}) as Record<string, JsonSchema>;
  for (const name of Array.isArray(s.required) ? (s.required as string[]) : []) {
    if (!(name in v)) return `${path}.${name}: is required`;
  }
  for (const [name, value] of Object.entries(v)) {
    const sub = Object.hasOwn(props, name) ? props[name] : undefined;
    if (sub === undefined) {
      if (s.additionalProperties === false) return `${path}.${name}: is not allowed`;
      continue;
    }
    const why = checkSchema(sub, value, `${path}.${name}`, depth + 1);
    if (why !== null) return why;
  }
  return null;
}
