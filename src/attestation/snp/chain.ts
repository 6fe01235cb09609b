import { createHash, type KeyObject, X509Certificate } from "node:crypto";
import * as x509 from "@peculiar/x509";
import { refuse } from "../encoding.ts";
import type { SnpProduct } from "../types.ts";
import type { SnpTrustedRoot } from "./roots.ts";
import { readVcekExtensions, type VcekExtensions } from "./vcek-extensions.ts";

/** Largest endorsements PEM we parse (three certificates are ~6.5 KiB). */
export const endorsementsBytesMax = 64 * 1024;
/** Verified chains kept; a network has few distinct chips, and a miss only costs time. */
export const chainCacheEntriesMax = 64;

/** A chain that verified up to a pinned root (validity times are checked on every use). */
export type VerifiedChain = {
  product: SnpProduct;
  vcekPublicKey: KeyObject;
  vcek: VcekExtensions;
  validity: ReadonlyArray<{ subject: string; notBefore: number; notAfter: number }>;
};

const cache = new Map<string, VerifiedChain>();

function splitPem(endorsements: string): string[] {
  if (endorsements.length > endorsementsBytesMax) {
    refuse("COTERIE_ERR_ATTESTATION_MALFORMED", `endorsements exceed ${endorsementsBytesMax} bytes`);
  }
  const blocks =
    endorsements.match(/-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\s]+-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length !== 3) {
    refuse(
      "COTERIE_ERR_ATTESTATION_BAD_CHAIN",
      `endorsements must hold 3 certificates (VCEK, ASK, ARK), got ${blocks.length}`,
    );
  }
  return blocks;
}

/** Both parsers' views of one certificate, with its public key decoded up front. */
type Parsed = {
  node: X509Certificate;
  peculiar: x509.X509Certificate;
  publicKey: KeyObject;
  spkiDer: Uint8Array;
};

function parseCertificate(pem: string, role: string): Parsed {
  try {
    // Node decodes the key lazily; decode it here so a bad key is "malformed", not a crash later.
    const node = new X509Certificate(pem);
    const peculiar = new x509.X509Certificate(pem);
    return { node, peculiar, publicKey: node.publicKey, spkiDer: new Uint8Array(peculiar.publicKey.rawData) };
  } catch {
    refuse("COTERIE_ERR_ATTESTATION_MALFORMED", `${role} certificate is not valid X.509`);
  }
}

/** AMD signs every certificate of the chain with RSASSA-PSS, SHA-384, salt 48 (OpenSSL applies the MGF1 stated). */
function checkSignatureAlgorithm(cert: Parsed, role: string): void {
  const alg = cert.peculiar.signatureAlgorithm as {
    name?: string;
    hash?: { name?: string };
    saltLength?: number;
  };
  if (alg.name !== "RSA-PSS" || alg.hash?.name !== "SHA-384" || alg.saltLength !== 48) {
    refuse("COTERIE_ERR_ATTESTATION_BAD_CHAIN", `${role} is not signed with RSA-PSS SHA-384 (salt 48)`);
  }
}

function checkOrder(vcek: Parsed, ask: Parsed, ark: Parsed): void {
  const curve = vcek.publicKey.asymmetricKeyDetails?.namedCurve;
  const rsa = (c: Parsed) => ["rsa", "rsa-pss"].includes(c.publicKey.asymmetricKeyType ?? "");
  if (vcek.publicKey.asymmetricKeyType !== "ec" || curve !== "secp384r1" || !rsa(ask) || !rsa(ark)) {
    refuse(
      "COTERIE_ERR_ATTESTATION_BAD_CHAIN",
      "endorsements must be in order VCEK (P-384), ASK (RSA), ARK (RSA)",
    );
  }
}

function pinnedProduct(ark: Parsed, roots: readonly SnpTrustedRoot[]): SnpProduct {
  const fingerprint = createHash("sha256").update(ark.spkiDer).digest("hex");
  const root = roots.find((r) => r.spkiSha256.toLowerCase() === fingerprint);
  if (root === undefined) {
    refuse("COTERIE_ERR_ATTESTATION_UNKNOWN_ROOT", `ARK public key ${fingerprint} is not a pinned AMD root`, {
      arkSpkiSha256: fingerprint,
    });
  }
  return root.product;
}

function checkSignedBy(child: Parsed, parent: Parsed, role: string): void {
  let valid = false;
  try {
    valid = child.node.checkIssued(parent.node) && child.node.verify(parent.publicKey);
  } catch {
    // An undecodable signature is simply not a valid one.
  }
  if (!valid) {
    refuse("COTERIE_ERR_ATTESTATION_BAD_CHAIN", `${role} signature does not verify under its issuer`);
  }
}

function verifyUncached(endorsements: string, roots: readonly SnpTrustedRoot[]): VerifiedChain {
  const [vcek, ask, ark] = splitPem(endorsements).map((pem, i) =>
    parseCertificate(pem, ["VCEK", "ASK", "ARK"][i] as string),
  ) as [Parsed, Parsed, Parsed];
  checkOrder(vcek, ask, ark);
  const product = pinnedProduct(ark, roots);
  for (const [cert, role] of [
    [vcek, "VCEK"],
    [ask, "ASK"],
    [ark, "ARK"],
  ] as const)
    checkSignatureAlgorithm(cert, role);
  checkSignedBy(ark, ark, "ARK (self-signed)");
  checkSignedBy(ask, ark, "ASK");
  checkSignedBy(vcek, ask, "VCEK");
  const extensions = readVcekExtensions(vcek.peculiar);
  if (!extensions.productName.startsWith(product)) {
    refuse(
      "COTERIE_ERR_ATTESTATION_BAD_CHAIN",
      `VCEK is for product ${extensions.productName}, root is ${product}`,
    );
  }
  const validity = [vcek, ask, ark].map((c) => ({
    subject: c.node.subject.replace(/\n/g, ", "),
    notBefore: Date.parse(c.node.validFrom),
    notAfter: Date.parse(c.node.validTo),
  }));
  return { product, vcekPublicKey: vcek.publicKey, vcek: extensions, validity };
}

/**
 * Verifies VCEK → ASK → ARK up to one of `roots`, caching successes (keyed by the PEM and the
 * roots) so that repeated joins from the same chip cost one ECDSA verification. Certificate
 * validity is checked against `nowMs` on every call, cached or not.
 */
export function verifyEndorsements(
  endorsements: string,
  roots: readonly SnpTrustedRoot[],
  nowMs: number,
): VerifiedChain {
  if (typeof endorsements !== "string")
    refuse("COTERIE_ERR_ATTESTATION_MALFORMED", "endorsements must be a PEM string");
  const key = createHash("sha256")
    .update(JSON.stringify(roots))
    .update("\0")
    .update(endorsements)
    .digest("hex");
  let chain = cache.get(key);
  if (chain === undefined) {
    chain = verifyUncached(endorsements, roots);
    if (cache.size >= chainCacheEntriesMax) cache.delete(cache.keys().next().value as string);
    cache.set(key, chain);
  }
  for (const v of chain.validity) {
    if (!(nowMs >= v.notBefore && nowMs <= v.notAfter)) {
      refuse(
        "COTERIE_ERR_ATTESTATION_BAD_CHAIN",
        `certificate ${v.subject} is not valid at ${new Date(nowMs).toISOString()}`,
      );
    }
  }
  return chain;
}

/** Empties the chain cache (tests, and after changing pinned roots at run time). */
export function clearEndorsementsCache(): void {
  cache.clear();
}
