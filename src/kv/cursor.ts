import { CoterieError } from "../util/errors.ts";
import { bytesToLatin1 } from "./bytes.ts";

/**
 * Range continuation tokens. A token is base64url of
 *   [format 0x01] [query digest, 8 bytes] [position: the last key returned, raw bytes]
 * The digest binds the token to its query (map, from, to, direction) so a token pasted into
 * another query is refused rather than silently skipping or repeating entries. It is a checksum
 * against misuse, not a secret: the position is still checked against the query's bounds.
 */
const cursorFormat = 0x01;
const digestBytes = 8;

/** The query a cursor belongs to; keys as latin1 strings. */
export type CursorQuery = { map: string; from: string | undefined; to: string | undefined; reverse: boolean };

/** Two independent 32-bit FNV-1a style lanes over a canonical rendering of the query. */
function queryDigest(query: CursorQuery): Uint8Array {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ 0x5bd1e995;
  const feed = (unit: number): void => {
    a = Math.imul(a ^ unit, 0x01000193);
    b = Math.imul(b ^ unit, 0x5bd1e995) ^ (b >>> 15);
  };
  const feedString = (text: string | undefined): void => {
    if (text === undefined) {
      feed(0x10000);
      return;
    }
    feed(0x10001 + text.length);
    for (let i = 0; i < text.length; i++) feed(text.charCodeAt(i));
  };
  feedString(query.map);
  feedString(query.from);
  feedString(query.to);
  feed(query.reverse ? 1 : 0);
  const out = new Uint8Array(digestBytes);
  const view = new DataView(out.buffer);
  view.setUint32(0, a >>> 0);
  view.setUint32(4, b >>> 0);
  return out;
}

/** Makes the token that resumes `query` after `positionKey` (latin1). */
export function encodeCursor(query: CursorQuery, positionKey: string): string {
  const bytes = Buffer.alloc(1 + digestBytes + positionKey.length);
  bytes[0] = cursorFormat;
  bytes.set(queryDigest(query), 1);
  bytes.write(positionKey, 1 + digestBytes, "latin1");
  return bytes.toString("base64url");
}

function invalid(reason: string): CoterieError {
  return new CoterieError("COTERIE_ERR_KV_INVALID_CURSOR", `invalid range cursor: ${reason}`);
}

const base64urlPattern = /^[A-Za-z0-9_-]*$/;

/**
 * Returns the position key (latin1) of a token made by `encodeCursor` for the same query, or
 * throws COTERIE_ERR_KV_INVALID_CURSOR. `keyBytesMax` bounds the work done on hostile input.
 */
export function decodeCursor(token: unknown, query: CursorQuery, keyBytesMax: number): string {
  if (typeof token !== "string") throw invalid("not a string");
  const lengthMax = Math.ceil(((1 + digestBytes + keyBytesMax) * 4) / 3);
  if (token.length > lengthMax || !base64urlPattern.test(token)) throw invalid("malformed");
  const bytes = Buffer.from(token, "base64url");
  if (bytes.toString("base64url") !== token) throw invalid("malformed");
  if (bytes.length < 1 + digestBytes || bytes[0] !== cursorFormat) throw invalid("unknown format");
  const digest = queryDigest(query);
  for (let i = 0; i < digestBytes; i++) {
    if (bytes[1 + i] !== digest[i]) throw invalid("it belongs to another query");
  }
  const position = bytesToLatin1(bytes.subarray(1 + digestBytes));
  const inside =
    (query.from === undefined || position >= query.from) && (query.to === undefined || position < query.to);
  if (!inside) throw invalid("position outside the query's bounds");
  return position;
}
