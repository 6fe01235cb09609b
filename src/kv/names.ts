import { CoterieError } from "../util/errors.ts";

/** Maps whose name starts with this are public: written to the ledger in plaintext. */
export const publicMapPrefix = "public:";

/** Prefixes of the framework's own tables; apps may read them but never write them. */
export const reservedMapPrefixes: readonly string[] = ["public:coterie.", "coterie."];

/** Longest map name, in UTF-16 code units. */
export const mapNameLengthMax = 256;

/** A map is public iff its name starts with `public:`; every other map is private. */
export function isPublicMapName(name: string): boolean {
  return name.startsWith(publicMapPrefix);
}

/** A map is reserved for the framework iff its name starts with a reserved prefix. */
export function isReservedMapName(name: string): boolean {
  return reservedMapPrefixes.some((prefix) => name.startsWith(prefix));
}

/** Labelled guard: a map name is a non-empty string of at most `mapNameLengthMax` code units. */
export function checkMapName(name: unknown): asserts name is string {
  if (typeof name !== "string") throw new TypeError("map name must be a string");
  if (name.length === 0 || name.length > mapNameLengthMax) {
    throw new CoterieError("COTERIE_ERR_KV_LIMIT", `map name must have 1 to ${mapNameLengthMax} characters`, {
      details: { length: name.length },
    });
  }
}
