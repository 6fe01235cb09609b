/**
 * The `jwt` policy: a JSON Web Token in `Authorization: Bearer`, signed (RS256 or ES256) by a key
 * of an issuer that governance trusts (`set_jwt_issuer` → `public:coterie.gov.jwt.issuers`, keyed
 * by the token's `iss`). Checked: the signature under the issuer's JWKS (by `kid` when given), `exp`
 * (required), `nbf`, and `aud` when the issuer has an audience. 60 s of clock skew is allowed.
 * Keys are imported once per JWK text and cached (bounded).
 */
import { createPublicKey, type KeyObject, verify } from "node:crypto";
import type { Caller } from "../app/index.ts";
import { curveOf, verifyP1363 } from "../crypto/keys.ts";
import { jwtIssuers } from "../tables/governance.ts";
import type { Authenticator } from "./auth.ts";

export const jwtBytesMax = 16 * 1024;
export const jwtClockSkewSeconds = 60;
const keyCacheMax = 256;
const keyCache = new Map<string, KeyObject | null>();

type JwtParts = {
  header: Record<string, unknown>;
  claims: Record<string, unknown>;
  signed: Buffer;
  signature: Buffer;
};

function decodePart(part: string): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(Buffer.from(part, "base64url").toString("utf8"));
    return v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** Splits and decodes a compact JWS; null when it is not one. */
export function parseJwt(token: string): JwtParts | null {
  if (token.length > jwtBytesMax) return null;
  const parts = token.split(".");
  if (parts.length !== 3 || !parts.every((p) => /^[A-Za-z0-9_-]*$/.test(p))) return null;
  const [h, c, s] = parts as [string, string, string];
  const header = decodePart(h);
  const claims = decodePart(c);
  if (header === null || claims === null) return null;
  return { header, claims, signed: Buffer.from(`${h}.${c}`), signature: Buffer.from(s, "base64url") };
}

function importJwk(jwk: Record<string, unknown>): KeyObject | null {
  const text = JSON.stringify(jwk);
  const cached = keyCache.get(text);
  if (cached !== undefined) return cached;
  let key: KeyObject | null;
  try {
    key = createPublicKey({ key: jwk as import("node:crypto").JsonWebKey, format: "jwk" });
  } catch {
    key = null;
  }
  if (keyCache.size >= keyCacheMax) keyCache.clear();
  keyCache.set(text, key);
  return key;
}

/** ES256 is ECDSA on P-256 with SHA-256 (RFC 7518 §3.4): an EC key of another curve never verifies it. */
function isP256(key: KeyObject): boolean {
  try {
    return curveOf(key) === "P-256";
  } catch {
    return false; // a curve node:crypto imports but Coterie does not sign with (e.g. secp256k1)
  }
}

function signatureOk(parts: JwtParts, keys: ReadonlyArray<Record<string, unknown>>): boolean {
  const alg = parts.header.alg;
  const kid = parts.header.kid;
  const kty = alg === "RS256" ? "RSA" : alg === "ES256" ? "EC" : null;
  if (kty === null) return false;
  for (const jwk of keys) {
    if (jwk.kty !== kty || (kid !== undefined && jwk.kid !== kid)) continue;
    if (jwk.alg !== undefined && jwk.alg !== alg) continue;
    const key = importJwk(jwk);
    if (key === null) continue;
    const ok =
      alg === "RS256"
        ? verify("sha256", parts.signed, key, parts.signature)
        : isP256(key) && verifyP1363(key, parts.signed, parts.signature);
    if (ok) return true;
  }
  return false;
}

/** True iff the time claims admit the token at `nowSeconds`. */
export function timeClaimsOk(claims: Record<string, unknown>, nowSeconds: number): boolean {
  const { exp, nbf } = claims;
  if (typeof exp !== "number" || exp + jwtClockSkewSeconds <= nowSeconds) return false;
  if (nbf !== undefined && (typeof nbf !== "number" || nbf - jwtClockSkewSeconds > nowSeconds)) return false;
  return true;
}

function audienceOk(aud: unknown, expected: string | undefined): boolean {
  if (expected === undefined) return true;
  return aud === expected || (Array.isArray(aud) && aud.includes(expected));
}

export const jwtAuthenticator: Authenticator = ({ tx, req }) => {
  const header = req.headers.authorization;
  if (typeof header !== "string" || !header.startsWith("Bearer ")) return null;
  const parts = parseJwt(header.slice(7).trim());
  if (parts === null || typeof parts.claims.iss !== "string") return null;
  const issuer = jwtIssuers.in(tx).get(parts.claims.iss);
  if (issuer === undefined || !Array.isArray(issuer.jwks?.keys)) return null;
  if (!timeClaimsOk(parts.claims, Date.now() / 1000)) return null;
  if (!audienceOk(parts.claims.aud, issuer.audience)) return null;
  if (!signatureOk(parts, issuer.jwks.keys)) return null;
  const caller: Caller = {
    policy: "jwt",
    issuer: parts.claims.iss,
    subject: typeof parts.claims.sub === "string" ? parts.claims.sub : null,
    claims: parts.claims,
  };
  return caller;
};
