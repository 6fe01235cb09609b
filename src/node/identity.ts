/**
 * The node's identity and the service's: keys, certificates and the ledger secret. Created once
 * for a new service; after that they exist on disk only sealed by the platform (src/attestation), and
 * the certificates (public) as PEM files beside the ledger.
 */
import { createPublicKey, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Platform } from "../attestation/index.ts";
import {
  type Curve,
  curveOf,
  generateKeyPair,
  type KeyPair,
  privateKeyFromPem,
  privateKeyToPem,
} from "../crypto/keys.ts";
import { certificateId, createSelfSignedCertificate, endorseCertificate } from "../crypto/x509.ts";
import type { LedgerSecret } from "../ledger/entry.ts";

export type Identity = {
  node: KeyPair;
  nodeCert: string;
  nodeId: string;
  service: KeyPair;
  serviceCert: string;
  /** Every ledger secret this node holds, ascending by version; the last one encrypts new entries. */
  ledgerSecrets: LedgerSecret[];
};

const CERT_VALIDITY_DAYS = 365;
const SEALED_FILE = "identity.sealed";

type SealedIdentity = {
  node_key: string;
  node_cert: string;
  service_key: string;
  service_cert: string;
  ledger_secrets: Array<{ version: number; key: string }>;
};

/**
 * A new service identity (always P-384: it signs rarely) and a node key on `nodeKeyCurve`
 * (config `nodeKey.curve`; P-384 by default), whose certificate the service key endorses.
 */
export async function createIdentity(
  subjectAltNames: string[],
  nodeKeyCurve: Curve = "P-384",
): Promise<Identity> {
  const service = generateKeyPair("P-384");
  const serviceCert = await createSelfSignedCertificate(service, {
    subject: "CN=Coterie service",
    validityDays: CERT_VALIDITY_DAYS,
    ca: true,
  });
  const node = generateKeyPair(nodeKeyCurve);
  const nodeCert = await endorseCertificate(node, service, serviceCert, {
    subject: "CN=Coterie node",
    validityDays: CERT_VALIDITY_DAYS,
    dnsNames: ["localhost", ...subjectAltNames.filter((n) => !/^[\d.:]+$/.test(n))],
    ipAddresses: ["127.0.0.1", ...subjectAltNames.filter((n) => /^[\d.:]+$/.test(n))],
  });
  return {
    node,
    nodeCert,
    nodeId: certificateId(nodeCert),
    service,
    serviceCert,
    ledgerSecrets: [{ version: 0, key: randomBytes(32) }],
  };
}

export function currentLedgerSecret(identity: Identity): LedgerSecret {
  return identity.ledgerSecrets.at(-1) as LedgerSecret;
}

/** Writes the identity sealed, and the public certificates as PEM, into `dir`. */
export async function saveIdentity(dir: string, identity: Identity, platform: Platform): Promise<void> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const plain: SealedIdentity = {
    node_key: privateKeyToPem(identity.node.privateKey),
    node_cert: identity.nodeCert,
    service_key: privateKeyToPem(identity.service.privateKey),
    service_cert: identity.serviceCert,
    ledger_secrets: identity.ledgerSecrets.map((s) => ({
      version: s.version,
      key: Buffer.from(s.key).toString("base64"),
    })),
  };
  const sealed = await platform.seal(Buffer.from(JSON.stringify(plain)), "coterie node identity");
  writeFileSync(join(dir, SEALED_FILE), sealed, { mode: 0o600 });
  writeFileSync(join(dir, "service_cert.pem"), identity.serviceCert);
  writeFileSync(join(dir, "node_cert.pem"), identity.nodeCert);
}

export function hasIdentity(dir: string): boolean {
  return existsSync(join(dir, SEALED_FILE));
}

/**
 * The sealed identity, keys as they were made: a node key on either curve loads as it is (a
 * restart never re-keys, whatever `nodeKey.curve` says now).
 */
export async function loadIdentity(dir: string, platform: Platform): Promise<Identity> {
  const unsealed = await platform.unseal(readFileSync(join(dir, SEALED_FILE)), "coterie node identity");
  const plain = JSON.parse(Buffer.from(unsealed).toString("utf8")) as SealedIdentity;
  const pair = (pem: string): KeyPair => {
    const privateKey = privateKeyFromPem(pem);
    curveOf(privateKey); // throws on a key that is not EC P-256 or P-384
    return { privateKey, publicKey: createPublicKey(privateKey) };
  };
  return {
    node: pair(plain.node_key),
    nodeCert: plain.node_cert,
    nodeId: certificateId(plain.node_cert),
    service: pair(plain.service_key),
    serviceCert: plain.service_cert,
    ledgerSecrets: plain.ledger_secrets.map((s) => ({
      version: s.version,
      key: Buffer.from(s.key, "base64"),
    })),
  };
}
