/**
 * Codecs for code running inside the sandbox, where V8 offers no TextEncoder, Buffer or atob:
 * UTF-8 and base64 in plain JavaScript. Same byte formats as src/kv/codecs.ts.
 */
import type { Codec } from "../kv/codecs.ts";

export function utf8Encode(text: string): Uint8Array {
  const out: number[] = [];
  for (const ch of text) {
    const c = ch.codePointAt(0) as number;
    if (c < 0x80) out.push(c);
    else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
    else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
  }
  return Uint8Array.from(out);
}

export function utf8Decode(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; ) {
    const b = bytes[i] as number;
    const n = b < 0x80 ? 1 : b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 0;
    if (n === 0 || i + n > bytes.length) throw new TypeError("utf8 codec: invalid UTF-8");
    let c = n === 1 ? b : b & (0xff >> (n + 1));
    for (let k = 1; k < n; k++) {
      const cont = bytes[i + k] as number;
      if ((cont & 0xc0) !== 0x80) throw new TypeError("utf8 codec: invalid UTF-8");
      c = (c << 6) | (cont & 63);
    }
    out += String.fromCodePoint(c);
    i += n;
  }
  return out;
}

export const utf8: Codec<string> = {
  encode(value) {
    if (typeof value !== "string") throw new TypeError("utf8 codec: value must be a string");
    return utf8Encode(value);
  },
  decode: utf8Decode,
};

export function json<T>(): Codec<T> {
  return {
    encode(value) {
      const text = JSON.stringify(value);
      if (text === undefined) throw new TypeError("json codec: value has no JSON form");
      return utf8Encode(text);
    },
    decode: (bytes) => JSON.parse(utf8Decode(bytes)) as T,
  };
}

export const raw: Codec<Uint8Array> = {
  encode: (value) => value.slice(),
  decode: (bytes) => bytes,
};

export const u64: Codec<bigint> = {
  encode(value) {
    if (typeof value !== "bigint" || value < 0n || value >= 1n << 64n)
      throw new RangeError("u64 codec: value must be in [0, 2^64)");
    const bytes = new Uint8Array(8);
    new DataView(bytes.buffer).setBigUint64(0, value);
    return bytes;
  },
  decode(bytes) {
    if (bytes.length !== 8) throw new RangeError(`u64 codec: expected 8 bytes, got ${bytes.length}`);
    return new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0);
  },
};
