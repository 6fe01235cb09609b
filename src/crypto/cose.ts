/**
 * COSE Sign1 (RFC 9052 §4.2) for governance requests and COSE receipts, browser-safe: `cbor-x` for
 * CBOR, WebCrypto (`globalThis.crypto.subtle`) for ECDSA; no `node:` import.
 *
 * Algorithms: ES256 (-7, P-256/SHA-256) and ES384 (-35, P-384/SHA-384), signatures in IEEE P1363
 * form r ‖ s as COSE requires (RFC 9053 §2.1). Signing goes through a `CoseSigner`, so a WebCrypto
 * key, a PEM key in Node or an external command (hardware key, cloud KMS) can sign.
 *
 * Decoding is strict because these bytes come from outside: definite lengths only, shortest-form
 * integers and lengths, text labels valid UTF-8, no tag other than the outer COSE_Sign1 tag 18, no
 * duplicate map keys (cbor-x keeps the last one silently, so a well-formedness scan runs first),
 * no trailing bytes, and limits on size, depth and entry count.
 */
import { Decoder, Encoder, Tag } from "cbor-x";
import { CoterieError } from "../util/errors.ts";

/** Header labels registered by RFC 9052 §3.1 that this module interprets. */
export const COSE_HEADER = { alg: 1, crit: 2, contentType: 3, kid: 4 } as const;
export const COSE_SIGN1_TAG = 18;
export const COSE_ALG = { ES256: -7, ES384: -35 } as const;
export type CoseAlg = -7 | -35;

/** A header label: an integer (registered) or a text string (ours, e.g. "coterie.gov.msg.type"). */
export type CoseLabel = number | string;
/** Header values: CBOR data without tags (integers, text, bytes, booleans, null, arrays, maps). */
export type CoseValue =
  | number
  | string
  | boolean
  | null
  | Uint8Array
  | CoseValue[]
  | Map<CoseLabel, CoseValue>;
/** Header input: a Map (any labels) or a plain object (its keys are text labels). */
export type CoseHeadersInput =
  | ReadonlyMap<CoseLabel, CoseValue>
  | { readonly [textLabel: string]: CoseValue };

/** Anything that can produce a P1363 ECDSA signature over the to-be-signed bytes. */
export type CoseSigner = { alg: CoseAlg; kid: Uint8Array; sign(toBeSigned: Uint8Array): Promise<Uint8Array> };

/** Limits of `decodeCoseSign1`; every one bounds work done on untrusted bytes. */
export type CoseDecodeLimits = {
  messageBytesMax: number;
  headerEntriesMax: number;
  depthMax: number;
  itemsMax: number;
};
export const COSE_DECODE_LIMITS_DEFAULT: CoseDecodeLimits = {
  messageBytesMax: 1024 * 1024,
  headerEntriesMax: 32,
  depthMax: 8,
  itemsMax: 4096,
};

/** A decoded COSE_Sign1; `protectedBytes` are the exact signed bytes of the protected header. */
export type DecodedCoseSign1 = {
  protectedBytes: Uint8Array;
  protectedHeaders: Map<CoseLabel, CoseValue>;
  unprotectedHeaders: Map<CoseLabel, CoseValue>;
  /** `null` when the payload is detached (sent beside the message). */
  payload: Uint8Array | null;
  signature: Uint8Array;
  alg: CoseAlg;
  /** The protected kid (4), or null; an unprotected kid is left in `unprotectedHeaders` only. */
  kid: Uint8Array | null;
};

export type CoseSignOptions = { detached?: boolean; externalAad?: Uint8Array };
export type CoseVerifyOptions = { detachedPayload?: Uint8Array; externalAad?: Uint8Array };
/** A public key: a WebCrypto key, a JWK, or SubjectPublicKeyInfo DER. */
export type CosePublicKey = CryptoKey | JsonWebKey | Uint8Array;

const encoder = new Encoder({
  useRecords: false,
  mapsAsObjects: false,
  useTag259ForMaps: false,
  tagUint8Array: false,
  variableMapSize: true,
} as ConstructorParameters<typeof Encoder>[0]);
const decoder = new Decoder({ useRecords: false, mapsAsObjects: false } as ConstructorParameters<
  typeof Decoder
>[0]);
const EMPTY = new Uint8Array(0);

const ALG_PARAMS: Record<
  CoseAlg,
  { curve: "P-256" | "P-384"; hash: "SHA-256" | "SHA-384"; signatureBytes: number }
> = {
  [-7]: { curve: "P-256", hash: "SHA-256", signatureBytes: 64 },
  [-35]: { curve: "P-384", hash: "SHA-384", signatureBytes: 96 },
};

/**
 * Signs `payload` into a tagged COSE_Sign1. The signer's alg (1) and kid (4) go into the protected
 * header first, then `protectedHeaders` in their order; the caller may not set alg or kid itself.
 *
 * @example
 *   const msg = await signCoseSign1(cryptoKeySigner(key, kid, -35), body,
 *     { "coterie.gov.msg.type": "ballot", "coterie.gov.msg.created_at": 1763780000 });
 */
export async function signCoseSign1(
  signer: CoseSigner,
  payload: Uint8Array,
  protectedHeaders: CoseHeadersInput = {},
  unprotectedHeaders: CoseHeadersInput = {},
  options: CoseSignOptions = {},
): Promise<Uint8Array> {
  const params = ALG_PARAMS[signer.alg];
  if (params === undefined) throw new CoterieError("COTERIE_ERR_COSE_UNSUPPORTED_ALG", `alg ${signer.alg}`);
  if (!(signer.kid instanceof Uint8Array)) throw new TypeError("signer.kid must be a Uint8Array");
  const protectedMap = new Map<CoseLabel, CoseValue>([
    [COSE_HEADER.alg, signer.alg],
    [COSE_HEADER.kid, signer.kid],
  ]);
  for (const [label, value] of headerEntries(protectedHeaders)) {
    if (label === COSE_HEADER.alg || label === COSE_HEADER.kid) {
      throw new TypeError("alg and kid come from the signer; do not pass them as headers");
    }
    protectedMap.set(label, value);
  }
  const unprotectedMap = new Map(headerEntries(unprotectedHeaders));
  for (const label of unprotectedMap.keys()) {
    if (protectedMap.has(label)) throw new TypeError(`header ${label} is both protected and unprotected`);
  }
  const protectedBytes = encodeCbor(protectedMap);
  const toBeSigned = sigStructure(protectedBytes, options.externalAad ?? EMPTY, payload);
  const signature = await signer.sign(toBeSigned);
  if (!(signature instanceof Uint8Array) || signature.length !== params.signatureBytes) {
    throw new TypeError(
      `the signer must return a ${params.signatureBytes}-byte P1363 signature for alg ${signer.alg}`,
    );
  }
  const payloadOrNil = options.detached ? null : payload;
  return encodeCoseSign1({
    protectedBytes,
    unprotectedHeaders: unprotectedMap,
    payload: payloadOrNil,
    signature,
  });
}

/**
 * Re-encodes a COSE_Sign1 from its parts, keeping the signed protected bytes as they are. Used to
 * add unprotected headers (such as the inclusion proof of a COSE receipt) to a signed message.
 */
export function encodeCoseSign1(
  parts: Pick<DecodedCoseSign1, "protectedBytes" | "unprotectedHeaders" | "payload" | "signature">,
): Uint8Array {
  const body = [parts.protectedBytes, parts.unprotectedHeaders, parts.payload, parts.signature];
  return encodeCbor(new Tag(body, COSE_SIGN1_TAG));
}

/**
 * Decodes one CBOR item under the same strict rules as COSE messages (no tags at all), for CBOR
 * embedded in headers such as COSE receipt inclusion proofs.
 * @throws CoterieError COTERIE_ERR_COSE_MALFORMED
 */
export function decodeCborStrict(
  bytes: Uint8Array,
  limits: CoseDecodeLimits = COSE_DECODE_LIMITS_DEFAULT,
): unknown {
  if (bytes.length > limits.messageBytesMax) malformed(`CBOR exceeds ${limits.messageBytesMax} bytes`);
  const end = scanCbor(bytes, 0, limits, false);
  if (end !== bytes.length) malformed(`${bytes.length - end} trailing bytes after the CBOR item`);
  return normalize(decodeCbor(bytes));
}

/** Encodes `value` as CBOR the way this module does (Maps as maps, bytes as bstr, integers exact). */
export function encodeCborValue(value: CoseValue): Uint8Array {
  return encodeCbor(value);
}

/** The Sig_structure of RFC 9052 §4.4 for COSE_Sign1: ["Signature1", protected, external_aad, payload]. */
export function sigStructure(
  protectedBytes: Uint8Array,
  externalAad: Uint8Array,
  payload: Uint8Array,
): Uint8Array {
  return encodeCbor(["Signature1", protectedBytes, externalAad, payload]);
}

/** A `CoseSigner` over a WebCrypto ECDSA private key (P-256 for ES256, P-384 for ES384). */
export function cryptoKeySigner(privateKey: CryptoKey, kid: Uint8Array, alg: CoseAlg): CoseSigner {
  const params = ALG_PARAMS[alg];
  if (params === undefined) throw new CoterieError("COTERIE_ERR_COSE_UNSUPPORTED_ALG", `alg ${alg}`);
  const curve = (privateKey.algorithm as EcKeyAlgorithm).namedCurve;
  if (curve !== params.curve) throw new TypeError(`alg ${alg} needs a ${params.curve} key, not ${curve}`);
  return {
    alg,
    kid,
    async sign(toBeSigned) {
      const sig = await globalThis.crypto.subtle.sign(
        { name: "ECDSA", hash: params.hash },
        privateKey,
        toBeSigned as Uint8Array<ArrayBuffer>,
      );
      return new Uint8Array(sig);
    },
  };
}

/**
 * Decodes a tagged COSE_Sign1 strictly (see the file comment). Does not verify the signature.
 * @throws CoterieError COTERIE_ERR_COSE_MALFORMED | COTERIE_ERR_COSE_UNSUPPORTED_ALG
 */
export function decodeCoseSign1(
  bytes: Uint8Array,
  limits: CoseDecodeLimits = COSE_DECODE_LIMITS_DEFAULT,
): DecodedCoseSign1 {
  if (!(bytes instanceof Uint8Array)) malformed("a COSE message must be bytes");
  if (bytes.length > limits.messageBytesMax) malformed(`message exceeds ${limits.messageBytesMax} bytes`);
  const end = scanCbor(bytes, 0, limits, true);
  if (end !== bytes.length) malformed(`${bytes.length - end} trailing bytes after the message`);
  const top = decodeCbor(bytes);
  if (!(top instanceof Tag) || top.tag !== COSE_SIGN1_TAG) malformed("not a COSE_Sign1 (tag 18)");
  const body = top.value as unknown;
  if (!Array.isArray(body) || body.length !== 4) malformed("COSE_Sign1 must be an array of 4 items");
  const [protectedBstr, unprotected, payload, signature] = body as unknown[];
  if (!(protectedBstr instanceof Uint8Array)) malformed("protected header must be a byte string");
  if (!(unprotected instanceof Map)) malformed("unprotected header must be a map");
  if (payload !== null && !(payload instanceof Uint8Array)) malformed("payload must be a byte string or nil");
  if (!(signature instanceof Uint8Array)) malformed("signature must be a byte string");
  const protectedBytes = new Uint8Array(protectedBstr);
  const protectedHeaders = decodeProtected(protectedBytes, limits);
  const unprotectedHeaders = normalize(unprotected) as Map<CoseLabel, CoseValue>;
  checkHeaders(protectedHeaders, unprotectedHeaders, limits);
  const alg = protectedHeaders.get(COSE_HEADER.alg);
  if (alg !== COSE_ALG.ES256 && alg !== COSE_ALG.ES384) {
    throw new CoterieError(
      "COTERIE_ERR_COSE_UNSUPPORTED_ALG",
      `unsupported or missing protected alg: ${String(alg)}`,
    );
  }
  const kid = protectedHeaders.get(COSE_HEADER.kid) ?? null;
  if (kid !== null && !(kid instanceof Uint8Array)) malformed("kid must be a byte string");
  return {
    protectedBytes,
    protectedHeaders,
    unprotectedHeaders,
    payload: payload === null ? null : new Uint8Array(payload),
    signature: new Uint8Array(signature),
    alg,
    kid,
  };
}

/**
 * Verifies the signature of a decoded COSE_Sign1 under `publicKey`. A detached payload must be
 * given in `options.detachedPayload`, and an attached one must not.
 * @throws CoterieError COTERIE_ERR_COSE_BAD_SIGNATURE | _UNSUPPORTED_ALG | _MALFORMED
 */
export async function verifyCoseSign1(
  decoded: DecodedCoseSign1,
  publicKey: CosePublicKey,
  options: CoseVerifyOptions = {},
): Promise<void> {
  const params = ALG_PARAMS[decoded.alg];
  if (params === undefined) throw new CoterieError("COTERIE_ERR_COSE_UNSUPPORTED_ALG", `alg ${decoded.alg}`);
  if (decoded.payload !== null && options.detachedPayload !== undefined) {
    malformed("the message carries its payload; a detached payload was also given");
  }
  const payload = decoded.payload ?? options.detachedPayload;
  if (payload === undefined) malformed("the payload is detached and was not given");
  const key = await importVerifyKey(publicKey, params.curve);
  if (decoded.signature.length !== params.signatureBytes)
    badSignature(`signature must be ${params.signatureBytes} bytes`);
  const toBeSigned = sigStructure(decoded.protectedBytes, options.externalAad ?? EMPTY, payload);
  const ok = await globalThis.crypto.subtle.verify(
    { name: "ECDSA", hash: params.hash },
    key,
    decoded.signature as Uint8Array<ArrayBuffer>,
    toBeSigned as Uint8Array<ArrayBuffer>,
  );
  if (!ok) badSignature("the signature does not verify under the given key");
}

async function importVerifyKey(publicKey: CosePublicKey, curve: "P-256" | "P-384"): Promise<CryptoKey> {
  const algorithm = { name: "ECDSA", namedCurve: curve };
  const mismatch = (got: unknown) =>
    new CoterieError(
      "COTERIE_ERR_COSE_UNSUPPORTED_ALG",
      `the message's alg needs a ${curve} key, not ${String(got)}`,
    );
  if (publicKey instanceof Uint8Array) {
    try {
      return await globalThis.crypto.subtle.importKey(
        "spki",
        publicKey as Uint8Array<ArrayBuffer>,
        algorithm,
        false,
        ["verify"],
      );
    } catch (cause) {
      throw new CoterieError("COTERIE_ERR_COSE_UNSUPPORTED_ALG", `the key is not an ECDSA ${curve} SPKI`, {
        cause,
      });
    }
  }
  if (isCryptoKey(publicKey)) {
    const got = (publicKey.algorithm as EcKeyAlgorithm).namedCurve;
    if (publicKey.algorithm.name !== "ECDSA" || got !== curve) throw mismatch(got);
    if (!publicKey.usages.includes("verify")) throw new TypeError("the CryptoKey is not usable for verify");
    return publicKey;
  }
  if (publicKey.kty !== "EC" || publicKey.crv !== curve) throw mismatch(publicKey.crv);
  const { d: _private, ...publicOnly } = publicKey;
  return globalThis.crypto.subtle.importKey("jwk", publicOnly, algorithm, false, ["verify"]);
}

function isCryptoKey(k: CosePublicKey): k is CryptoKey {
  return typeof CryptoKey !== "undefined" && k instanceof CryptoKey;
}

function decodeProtected(protectedBytes: Uint8Array, limits: CoseDecodeLimits): Map<CoseLabel, CoseValue> {
  // RFC 9052 §3: an empty protected header is the zero-length byte string.
  if (protectedBytes.length === 0) return new Map();
  const end = scanCbor(protectedBytes, 0, limits, false);
  if (end !== protectedBytes.length) malformed("trailing bytes in the protected header");
  const headers = normalize(decodeCbor(protectedBytes));
  if (!(headers instanceof Map)) malformed("protected header must encode a map");
  return headers as Map<CoseLabel, CoseValue>;
}

/** Label types, entry counts, no label in both buckets, no `crit` (we interpret no extension). */
function checkHeaders(
  protectedHeaders: Map<CoseLabel, CoseValue>,
  unprotectedHeaders: Map<CoseLabel, CoseValue>,
  limits: CoseDecodeLimits,
): void {
  for (const headers of [protectedHeaders, unprotectedHeaders]) {
    if (headers.size > limits.headerEntriesMax)
      malformed(`more than ${limits.headerEntriesMax} header entries`);
    for (const label of headers.keys()) {
      if (typeof label !== "string" && !Number.isSafeInteger(label))
        malformed("header labels are ints or text");
      if (headers === unprotectedHeaders && protectedHeaders.has(label)) {
        malformed(`header ${label} is both protected and unprotected`);
      }
    }
  }
  if (unprotectedHeaders.has(COSE_HEADER.alg)) malformed("alg must be protected");
  if (protectedHeaders.has(COSE_HEADER.crit) || unprotectedHeaders.has(COSE_HEADER.crit)) {
    malformed("crit headers are not supported");
  }
  const contentType =
    protectedHeaders.get(COSE_HEADER.contentType) ?? unprotectedHeaders.get(COSE_HEADER.contentType);
  if (contentType !== undefined && typeof contentType !== "string" && !Number.isSafeInteger(contentType)) {
    malformed("content type must be text or an unsigned integer");
  }
}

function headerEntries(input: CoseHeadersInput): [CoseLabel, CoseValue][] {
  const entries: [CoseLabel, CoseValue][] = input instanceof Map ? [...input] : Object.entries(input);
  for (const [label] of entries) {
    if (typeof label !== "string" && !Number.isSafeInteger(label))
      throw new TypeError(`bad header label ${label}`);
  }
  return entries;
}

/** cbor-x writes numbers above 2^32 as floats; integers must stay integers, so widen them to bigint. */
function encodeCbor(value: unknown): Uint8Array {
  return new Uint8Array(encoder.encode(widenIntegers(value)));
}

function widenIntegers(value: unknown): unknown {
  if (typeof value === "number" && Number.isInteger(value) && Math.abs(value) >= 2 ** 32) {
    if (!Number.isSafeInteger(value)) throw new RangeError(`integer ${value} is not exactly representable`);
    return BigInt(value);
  }
  if (Array.isArray(value)) return value.map(widenIntegers);
  if (value instanceof Map) return new Map([...value].map(([k, v]) => [widenIntegers(k), widenIntegers(v)]));
  if (value instanceof Tag) return new Tag(widenIntegers(value.value), value.tag);
  return value;
}

function decodeCbor(bytes: Uint8Array): unknown {
  try {
    return decoder.decode(bytes);
  } catch (cause) {
    throw new CoterieError("COTERIE_ERR_COSE_MALFORMED", "not decodable CBOR", { cause });
  }
}

/** 64-bit integers decode as bigint; the scan allowed only safe ones, so make them numbers. */
function normalize(value: unknown): unknown {
  if (typeof value === "bigint") return Number(value);
  if (Array.isArray(value)) return value.map(normalize);
  if (value instanceof Map) return new Map([...value].map(([k, v]) => [normalize(k), normalize(v)]));
  return value;
}

function malformed(message: string): never {
  throw new CoterieError("COTERIE_ERR_COSE_MALFORMED", message);
}

function badSignature(message: string): never {
  throw new CoterieError("COTERIE_ERR_COSE_BAD_SIGNATURE", message);
}

// ---------------------------------------------------------------------------------------------
// Strict well-formedness scan (RFC 8949 §3 and the strictness rules above), iterative.

type Frame = { remaining: number; keys: Set<string> | null; mapItems: number };

/** Returns the offset just past the one CBOR item starting at `start`, or throws MALFORMED. */
function scanCbor(
  bytes: Uint8Array,
  start: number,
  limits: CoseDecodeLimits,
  allowSign1Tag: boolean,
): number {
  const stack: Frame[] = [];
  let pos = start;
  let items = 0;
  for (;;) {
    if (++items > limits.itemsMax) malformed(`more than ${limits.itemsMax} CBOR items`);
    const parent = stack[stack.length - 1];
    const isKey = parent?.keys != null && parent.mapItems % 2 === 0;
    if (parent) {
      parent.remaining--;
      if (parent.keys !== null) parent.mapItems++;
    }
    const itemStart = pos;
    const head = readHead(bytes, pos);
    pos = head.next;
    if (isKey && head.major !== 0 && head.major !== 1 && head.major !== 3)
      malformed("map keys must be ints or text");
    let child: Frame | null = null;
    switch (head.major) {
      case 2:
      case 3:
        if (pos + head.arg > bytes.length) malformed("string runs past the end");
        if (head.major === 3) checkUtf8(bytes.subarray(pos, pos + head.arg));
        pos += head.arg;
        break;
      case 4:
        child = { remaining: head.arg, keys: null, mapItems: 0 };
        break;
      case 5:
        child = { remaining: 2 * head.arg, keys: new Set(), mapItems: 0 };
        break;
      case 6:
        if (!(allowSign1Tag && stack.length === 0 && itemStart === start && head.arg === COSE_SIGN1_TAG)) {
          malformed(`CBOR tag ${head.arg} is not allowed here`);
        }
        child = { remaining: 1, keys: null, mapItems: 0 };
        break;
      default:
        break;
    }
    if (isKey) {
      const key = bytesKey(bytes.subarray(itemStart, pos));
      if (parent!.keys!.has(key)) malformed("duplicate map key");
      parent!.keys!.add(key);
    }
    if (child !== null && child.remaining > 0) {
      if (stack.length >= limits.depthMax) malformed(`nesting deeper than ${limits.depthMax}`);
      stack.push(child);
      continue;
    }
    while (stack.length > 0 && stack[stack.length - 1]!.remaining === 0) stack.pop();
    if (stack.length === 0) return pos;
  }
}

type Head = { major: number; arg: number; next: number };

/** Reads an item head: definite lengths only, shortest form, safe-integer arguments. */
function readHead(bytes: Uint8Array, pos: number): Head {
  if (pos >= bytes.length) malformed("unexpected end of CBOR");
  const initial = bytes[pos]!;
  const major = initial >> 5;
  const ai = initial & 0x1f;
  if (ai < 24) {
    if (major === 7 && (ai < 20 || ai === 23))
      malformed("only false, true and null simple values are accepted");
    return { major, arg: ai, next: pos + 1 };
  }
  if (ai === 31) malformed("indefinite-length items are not accepted");
  if (ai > 27) malformed("reserved additional information");
  const size = 2 ** (ai - 24);
  if (pos + 1 + size > bytes.length) malformed("unexpected end of CBOR");
  if (major === 7) {
    if (ai === 24) malformed("simple values beyond 23 are not accepted");
    return { major, arg: 0, next: pos + 1 + size }; // a float of 2, 4 or 8 bytes
  }
  let arg = 0;
  for (let i = 1; i <= size; i++) arg = arg * 256 + bytes[pos + i]!;
  if (!Number.isSafeInteger(arg)) malformed("integer or length beyond 2^53");
  const minimum = ai === 24 ? 24 : 2 ** (8 * (size / 2));
  if (arg < minimum) malformed("integer or length not in its shortest form");
  return { major, arg, next: pos + 1 + size };
}

const utf8 = new TextDecoder("utf-8", { fatal: true });
function checkUtf8(bytes: Uint8Array): void {
  try {
    utf8.decode(bytes);
  } catch {
    malformed("text string is not valid UTF-8");
  }
}

function bytesKey(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return s;
}
