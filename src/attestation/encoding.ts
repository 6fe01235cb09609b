import { timingSafeEqual } from "node:crypto";
import { CoterieError, type ErrorCode } from "../util/errors.ts";

/** Throws the refusal `code` with a message safe to show the joiner and to record for members. */
export function refuse(code: ErrorCode, message: string, details?: unknown): never {
  throw new CoterieError(code, message, details === undefined ? {} : { details });
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}

/** Strict base64 decoding: Buffer.from silently skips junk, which would hide tampering. */
export function fromBase64(text: unknown, what: string, bytesMax: number): Uint8Array {
  if (typeof text !== "string" || text.length > Math.ceil(bytesMax / 3) * 4) {
    refuse(
      "COTERIE_ERR_ATTESTATION_MALFORMED",
      `${what} must be a base64 string of at most ${bytesMax} bytes`,
    );
  }
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) {
    refuse("COTERIE_ERR_ATTESTATION_MALFORMED", `${what} is not valid base64`);
  }
  return new Uint8Array(Buffer.from(text, "base64"));
}

/** Parses hex of exactly `bytesLength` bytes (either case). */
export function fromHex(text: unknown, what: string, bytesLength: number): Uint8Array {
  if (typeof text !== "string" || text.length !== bytesLength * 2 || !/^[0-9a-fA-F]*$/.test(text)) {
    refuse("COTERIE_ERR_ATTESTATION_MALFORMED", `${what} must be ${bytesLength} bytes of hex`);
  }
  return new Uint8Array(Buffer.from(text, "hex"));
}

export function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
}

/** Constant-time equality of two byte strings (false when lengths differ). */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && timingSafeEqual(a, b);
}

/** Normalises an allow-list of hex strings to lowercase, for exact comparison. */
export function hexSet(list: readonly string[]): Set<string> {
  return new Set(list.map((h) => h.toLowerCase()));
}
