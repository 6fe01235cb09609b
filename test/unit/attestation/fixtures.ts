// Synthetic SEV-SNP vectors: a test ARK/ASK (RSA-PSS SHA-384) and VCEK (P-384) with AMD's VCEK
// extensions, and reports in the SNP layout signed by that VCEK. They run the same verification
// code as AMD's real chain, with the test root injected as trusted, so a bare clone tests everything.

import { createHash, generateKeyPairSync, KeyObject, sign, webcrypto } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import * as x509 from "@peculiar/x509";
import {
  reportDataForPublicKey,
  type SnpTrustedRoot,
  snpReportLayout,
} from "../../../src/attestation/index.ts";
import type { SnpEvidence, SnpProduct } from "../../../src/attestation/types.ts";

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

const subtle = webcrypto.subtle;
const rsaPss = {
  name: "RSA-PSS",
  hash: "SHA-384",
  publicExponent: new Uint8Array([1, 0, 1]),
  modulusLength: 2048,
};
const pssSigning = { name: "RSA-PSS", saltLength: 48 };
const day = 24 * 3600 * 1000;

export type TestChain = {
  product: SnpProduct;
  root: SnpTrustedRoot;
  ark: x509.X509Certificate;
  ask: x509.X509Certificate;
  vcek: x509.X509Certificate;
  arkKeys: CryptoKeyPair;
  askKeys: CryptoKeyPair;
  vcekPrivateKey: KeyObject;
  pem: string;
};

export type VcekFacts = { productName: string; tcb: [number, number, number, number]; hwId: Uint8Array };

const amdName = (cn: string) => `CN=${cn}, O=Advanced Micro Devices, C=US`;

function derInteger(value: number): Uint8Array {
  const bytes = value >= 0x80 ? [0, value] : [value];
  return Uint8Array.from([0x02, bytes.length, ...bytes]);
}

function vcekExtensions(facts: VcekFacts): x509.Extension[] {
  const name = new TextEncoder().encode(facts.productName);
  const ext = (oid: string, value: Uint8Array) =>
    new x509.Extension(oid, false, Uint8Array.from(value).buffer);
  const [bl, tee, snp, ucode] = facts.tcb;
  return [
    ext("1.3.6.1.4.1.3704.1.2", Uint8Array.from([0x16, name.length, ...name])),
    ext("1.3.6.1.4.1.3704.1.3.1", derInteger(bl)),
    ext("1.3.6.1.4.1.3704.1.3.2", derInteger(tee)),
    ext("1.3.6.1.4.1.3704.1.3.3", derInteger(snp)),
    ext("1.3.6.1.4.1.3704.1.3.8", derInteger(ucode)),
    ext("1.3.6.1.4.1.3704.1.4", facts.hwId),
  ];
}

export function spkiSha256(cert: x509.X509Certificate): string {
  return createHash("sha256").update(new Uint8Array(cert.publicKey.rawData)).digest("hex");
}

export async function makeArk(
  product: SnpProduct,
): Promise<{ ark: x509.X509Certificate; keys: CryptoKeyPair }> {
  const keys = (await subtle.generateKey(rsaPss, true, ["sign", "verify"])) as CryptoKeyPair;
  const ark = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: "010000",
    name: amdName(`ARK-${product}`),
    notBefore: new Date(Date.now() - day),
    notAfter: new Date(Date.now() + 3650 * day),
    signingAlgorithm: pssSigning,
    keys,
  });
  return { ark, keys };
}

async function issue(
  subject: string,
  issuer: x509.X509Certificate,
  issuerKey: CryptoKey,
  publicKey: CryptoKey,
  extensions: x509.Extension[] = [],
  signingAlgorithm: typeof pssSigning = pssSigning,
): Promise<x509.X509Certificate> {
  return x509.X509CertificateGenerator.create({
    serialNumber: "0100",
    subject,
    issuer: issuer.subject,
    notBefore: new Date(Date.now() - day),
    notAfter: new Date(Date.now() + 365 * day),
    signingAlgorithm,
    publicKey,
    signingKey: issuerKey,
    extensions,
  });
}

export const defaultChipId = new Uint8Array(64).map((_, i) => (i * 7 + 1) & 0xff);
export const defaultTcb: [number, number, number, number] = [4, 0, 24, 219];

/** A full test chain; `vcekFacts` overrides what the VCEK certificate claims. */
export async function makeChain(
  product: SnpProduct = "Milan",
  vcekFacts: Partial<VcekFacts> = {},
  vcekSigning: typeof pssSigning = pssSigning,
): Promise<TestChain> {
  const { ark, keys: arkKeys } = await makeArk(product);
  const askKeys = (await subtle.generateKey(rsaPss, true, ["sign", "verify"])) as CryptoKeyPair;
  const ask = await issue(amdName(`SEV-${product}`), ark, arkKeys.privateKey, askKeys.publicKey);
  const vcekKeys = (await subtle.generateKey({ name: "ECDSA", namedCurve: "P-384" }, true, [
    "sign",
    "verify",
  ])) as CryptoKeyPair;
  const facts: VcekFacts = {
    productName: `${product}-B0`,
    tcb: defaultTcb,
    hwId: defaultChipId,
    ...vcekFacts,
  };
  const vcek = await issue(
    amdName("SEV-VCEK"),
    ask,
    askKeys.privateKey,
    vcekKeys.publicKey,
    vcekExtensions(facts),
    vcekSigning,
  );
  const pem = [vcek, ask, ark].map((c) => c.toString("pem")).join("\n");
  const root = { product, spkiSha256: spkiSha256(ark) };
  return {
    product,
    root,
    ark,
    ask,
    vcek,
    arkKeys,
    askKeys,
    vcekPrivateKey: KeyObject.from(vcekKeys.privateKey),
    pem,
  };
}

export type ReportFields = {
  version: number;
  policy: bigint;
  signatureAlgo: number;
  flags: number;
  measurement: Uint8Array;
  hostData: Uint8Array;
  reportData: Uint8Array;
  /** Raw 8-byte TCB_VERSION as the product lays it out. */
  reportedTcb: Uint8Array;
  chipId: Uint8Array;
};

export const defaultMeasurement = new Uint8Array(48).fill(0x4d);
export const defaultHostData = new Uint8Array(32).fill(0x48);

/** Milan/Genoa TCB_VERSION bytes: [bl, tee, 0,0,0,0, snp, ucode]. */
export function milanTcb([bl, tee, snp, ucode]: [number, number, number, number]): Uint8Array {
  return Uint8Array.of(bl, tee, 0, 0, 0, 0, snp, ucode);
}

/** Writes the fields at their offsets and signs bytes 0x000..0x29F with `key` (r, s little-endian). */
export function buildReport(key: KeyObject, fields: Partial<ReportFields> = {}): Uint8Array {
  const L = snpReportLayout;
  const f: ReportFields = {
    version: 3,
    policy: 0x30000n,
    signatureAlgo: 1,
    flags: 0,
    measurement: defaultMeasurement,
    hostData: defaultHostData,
    reportData: new Uint8Array(64),
    reportedTcb: milanTcb(defaultTcb),
    chipId: defaultChipId,
    ...fields,
  };
  const raw = new Uint8Array(L.bytesLength);
  const view = new DataView(raw.buffer);
  view.setUint32(L.version, f.version, true);
  view.setUint32(L.guestSvn, 1, true);
  view.setBigUint64(L.policy, f.policy, true);
  view.setUint32(L.signatureAlgo, f.signatureAlgo, true);
  raw.set(f.reportedTcb, L.currentTcb);
  view.setUint32(L.flags, f.flags, true);
  raw.set(f.reportData, L.reportData);
  raw.set(f.measurement, L.measurement);
  raw.set(f.hostData, L.hostData);
  raw.set(f.reportedTcb, L.reportedTcb);
  raw.set(f.chipId, L.chipId);
  return signReport(raw, key);
}

/** (Re-)signs a report in place and returns it. */
export function signReport(raw: Uint8Array, key: KeyObject): Uint8Array {
  const L = snpReportLayout;
  const sig = sign("sha384", raw.subarray(0, L.signedEnd), { key, dsaEncoding: "ieee-p1363" });
  raw.fill(0, L.signatureR);
  for (let i = 0; i < 48; i++) {
    raw[L.signatureR + i] = sig[47 - i] as number;
    raw[L.signatureS + i] = sig[95 - i] as number;
  }
  return raw;
}

export function evidenceOf(report: Uint8Array, pem: string): SnpEvidence {
  return { platform: "sev-snp", report: Buffer.from(report).toString("base64"), endorsements: pem };
}

/** A node identity key and the report data that binds it. */
export function nodeKey(): { publicKeyDer: Uint8Array; reportData: Uint8Array } {
  const { publicKey } = generateKeyPairSync("ec", { namedCurve: "P-384" });
  const publicKeyDer = new Uint8Array(publicKey.export({ type: "spki", format: "der" }));
  return { publicKeyDer, reportData: reportDataForPublicKey(publicKeyDer) };
}

export const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex");

/** The real vectors of ../shared/vectors/sev-snp, or the reason they are absent. */
export function realVectors(): { report: Uint8Array; pem: string } | { skip: string } {
  // COTERIE_VECTORS_DIR points elsewhere (e.g. a missing directory, to check the skip path).
  const vectors =
    process.env.COTERIE_VECTORS_DIR ?? resolve(import.meta.dirname, "../../../../shared/vectors");
  const dir = resolve(vectors, "sev-snp");
  const reportPath = resolve(dir, "milan-report.bin");
  if (!existsSync(reportPath))
    return { skip: `${dir} is absent (bare clone); the synthetic tests cover the same paths` };
  return {
    report: new Uint8Array(readFileSync(reportPath)),
    pem: readFileSync(resolve(dir, "milan-endorsements.pem"), "utf8"),
  };
}
