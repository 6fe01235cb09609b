import { bytesToLatin1, isAscii, latin1ToBytes } from "./bytes.ts";

/** Turns values of type `T` into the bytes a map stores, and back. */
export type Codec<T> = {
  encode(value: T): Uint8Array;
  decode(bytes: Uint8Array): T;
  /**
   * Optional: the bytes `encode(value)` would make, as a latin1 string (one char per byte, the
   * store's own form of keys and values). A codec that has it and `decodeLatin1` lets
   * `TypedMap.get` and `has` skip making bytes at all; key and value codecs that both have it let
   * `TypedMap.put` skip them too.
   */
  encodeLatin1?(value: T): string;
  /** Optional: `decode` of the bytes a latin1 string holds (one char per byte). */
  decodeLatin1?(text: string): T;
};

const textEncoder = new TextEncoder();
/** `fatal`: bytes that are not UTF-8 throw instead of turning into U+FFFD silently. */
const textDecoder = new TextDecoder("utf-8", { fatal: true });

/** Strings as UTF-8. Key order is then byte order of the UTF-8, which is code-point order. */
export const utf8: Codec<string> = {
  encode(value) {
    return textEncoder.encode(checkString(value));
  },
  decode(bytes) {
    return textDecoder.decode(bytes);
  },
  encodeLatin1(value) {
    return latin1OfText(checkString(value));
  },
  decodeLatin1(text) {
    return textOfLatin1(text);
  },
};

/** Values as UTF-8 JSON. Not canonical: equal objects built in another key order encode differently. */
export function json<T>(): Codec<T> {
  return {
    encode(value) {
      return textEncoder.encode(jsonText(value));
    },
    decode(bytes) {
      return JSON.parse(textDecoder.decode(bytes)) as T;
    },
    encodeLatin1(value) {
      return latin1OfText(jsonText(value));
    },
    decodeLatin1(text) {
      return JSON.parse(textOfLatin1(text)) as T;
    },
  };
}

function checkString(value: unknown): string {
  if (typeof value !== "string") throw new TypeError("utf8 codec: value must be a string");
  return value;
}

function jsonText(value: unknown): string {
  const text = JSON.stringify(value);
  if (text === undefined) throw new TypeError("json codec: value has no JSON form");
  return text;
}

/** The latin1 form of `text`'s UTF-8 bytes; ASCII, the common case, is its own. */
function latin1OfText(text: string): string {
  return isAscii(text) ? text : bytesToLatin1(textEncoder.encode(text));
}

/** The text whose UTF-8 bytes a latin1 string holds (throws on bytes that are not UTF-8). */
function textOfLatin1(latin1: string): string {
  return isAscii(latin1) ? latin1 : textDecoder.decode(latin1ToBytes(latin1));
}

/** Bytes as they are (copied, so the caller's array and the store's stay independent). */
export const raw: Codec<Uint8Array> = {
  encode(value) {
    if (!(value instanceof Uint8Array)) throw new TypeError("raw codec: value must be a Uint8Array");
    return value.slice();
  },
  decode(bytes) {
    return bytes;
  },
};

const u64Max = (1n << 64n) - 1n;

/** Unsigned 64-bit integers as 8 big-endian bytes, so key order is numeric order. */
export const u64: Codec<bigint> = {
  encode(value) {
    if (typeof value !== "bigint") throw new TypeError("u64 codec: value must be a bigint");
    if (value < 0n || value > u64Max) throw new RangeError("u64 codec: value must be in [0, 2^64)");
    const bytes = new Uint8Array(8);
    new DataView(bytes.buffer).setBigUint64(0, value);
    return bytes;
  },
  decode(bytes) {
    if (bytes.length !== 8) throw new RangeError(`u64 codec: expected 8 bytes, got ${bytes.length}`);
    return new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0);
  },
};
