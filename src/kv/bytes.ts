/**
 * Keys and values are bytes at the API and latin1 strings (one char per byte, code 0..255) inside
 * the trees: a flat one-byte string costs ~16 bytes of header against ~200 for a small Uint8Array,
 * and plain string comparison is then unsigned byte order.
 */

/** `String.fromCharCode.apply` takes its argument list on the stack: convert in slices of this. */
const applyChunkBytes = 8192;

/** Bytes → latin1 string. Always returns a flat (non-cons) string, which compares fast. */
export function bytesToLatin1(bytes: Uint8Array): string {
  if (bytes.length <= applyChunkBytes) {
    return String.fromCharCode.apply(null, bytes as unknown as number[]);
  }
  const parts: string[] = [];
  for (let offset = 0; offset < bytes.length; offset += applyChunkBytes) {
    const slice = bytes.subarray(offset, offset + applyChunkBytes);
    parts.push(String.fromCharCode.apply(null, slice as unknown as number[]));
  }
  return parts.join("");
}

/**
 * Whether every char of `text` is below 0x80. Such a string's UTF-8 bytes are its char codes, so
 * it is its own latin1 form (the store's representation) and needs no conversion either way.
 */
export function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return false;
  return true;
}

/** Latin1 string → fresh bytes (the caller may mutate them; the store's copy stays intact). */
export function latin1ToBytes(text: string): Uint8Array {
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

/** Unsigned lexicographic byte comparison, the order of keys in every map. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const d = (a[i] as number) - (b[i] as number);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

/** Latin1 string → fresh bytes; a char above U+00FF holds no byte and throws a `TypeError` naming `what`. */
export function latin1Bytes(value: unknown, what: string): Uint8Array {
  if (typeof value !== "string") throw notLatin1(what);
  const bytes = new Uint8Array(value.length);
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c > 0xff) throw notLatin1(what);
    bytes[i] = c;
  }
  return bytes;
}

/** Reused by `latin1Copy` for strings that fit (it runs synchronously, so one is enough). */
const copyScratch = new Uint8Array(16 * 1024);

/**
 * A fresh flat copy of a latin1 string, checked as `latin1Bytes` checks it. What the store keeps
 * must not hold a caller's larger string alive: a V8 slice of 13 chars or more points into its
 * parent, and a concatenation into its parts.
 */
export function latin1Copy(value: unknown, what: string): string {
  if (typeof value !== "string") throw notLatin1(what);
  const n = value.length;
  const bytes = n <= copyScratch.length ? copyScratch.subarray(0, n) : new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const c = value.charCodeAt(i);
    if (c > 0xff) throw notLatin1(what);
    bytes[i] = c;
  }
  return bytesToLatin1(bytes);
}

function notLatin1(what: string): TypeError {
  return new TypeError(`${what} must be a latin1 string`);
}

/** Labelled guard at the API boundary: keys and values must be `Uint8Array`s. */
export function checkBytes(value: unknown, what: string): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) throw new TypeError(`${what} must be a Uint8Array`);
}
