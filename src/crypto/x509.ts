/**
 * Certificates for the service, nodes, members and users (node-only: creation needs private keys).
 * The service certificate is a self-signed CA; node certificates are endorsed (signed) by it, so a
 * client that pins the service certificate trusts every node of the service.
 */
import { X509Certificate as NodeX509Certificate, randomBytes } from "node:crypto";
import * as x509 from "@peculiar/x509";
import { sha256Hex } from "./hash.ts";
import { type KeyPair, toCryptoKeyPair } from "./keys.ts";

const signingAlgorithm = (pair: KeyPair) =>
  pair.publicKey.asymmetricKeyDetails?.namedCurve === "prime256v1"
    ? { name: "ECDSA", hash: "SHA-256" }
    : { name: "ECDSA", hash: "SHA-384" };

const DAY_MS = 86_400_000;

export type CertificateOptions = {
  subject: string; // e.g. "CN=Coterie service"
  validityDays: number;
  notBefore?: Date;
};

function serial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] as number) & 0x7f; // positive INTEGER
  return bytes.toString("hex");
}

/** A self-signed certificate; `ca: true` for the service identity. */
export async function createSelfSignedCertificate(
  pair: KeyPair,
  options: CertificateOptions & { ca: boolean },
): Promise<string> {
  const keys = await toCryptoKeyPair(pair);
  const notBefore = options.notBefore ?? new Date(Date.now() - 60_000);
  const extensions: x509.Extension[] = [new x509.BasicConstraintsExtension(options.ca, undefined, true)];
  if (options.ca)
    extensions.push(
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.digitalSignature, true),
    );
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: options.subject,
    notBefore,
    notAfter: new Date(notBefore.getTime() + options.validityDays * DAY_MS),
    keys,
    signingAlgorithm: signingAlgorithm(pair),
    extensions,
  });
  return cert.toString("pem");
}

/** A certificate for `subjectPublicKeyPem`, signed by the issuer (the service identity). */
export async function endorseCertificate(
  subjectPair: Pick<KeyPair, "publicKey">,
  issuerPair: KeyPair,
  issuerCertPem: string,
  options: CertificateOptions & { dnsNames?: string[]; ipAddresses?: string[] },
): Promise<string> {
  const issuerKeys = await toCryptoKeyPair(issuerPair);
  const algorithm = {
    name: "ECDSA",
    namedCurve: subjectPair.publicKey.asymmetricKeyDetails?.namedCurve === "prime256v1" ? "P-256" : "P-384",
  };
  const publicKey = await crypto.subtle.importKey(
    "spki",
    subjectPair.publicKey.export({ type: "spki", format: "der" }),
    algorithm,
    true,
    ["verify"],
  );
  const issuer = new x509.X509Certificate(issuerCertPem);
  const notBefore = options.notBefore ?? new Date(Date.now() - 60_000);
  const names: x509.JsonGeneralName[] = [
    ...(options.dnsNames ?? []).map((value) => ({ type: "dns" as const, value })),
    ...(options.ipAddresses ?? []).map((value) => ({ type: "ip" as const, value })),
  ];
  const extensions: x509.Extension[] = [new x509.BasicConstraintsExtension(false, undefined, true)];
  if (names.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(names));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: options.subject,
    issuer: issuer.subject,
    notBefore,
    notAfter: new Date(notBefore.getTime() + options.validityDays * DAY_MS),
    publicKey,
    signingKey: issuerKeys.privateKey,
    signingAlgorithm: signingAlgorithm(issuerPair),
    extensions,
  });
  return cert.toString("pem");
}

/** DER bytes of a PEM certificate (the first one in the text). */
export function certificateDer(pem: string): Uint8Array {
  return new NodeX509Certificate(pem).raw;
}

/** The id of a certificate's holder (user, member, node): lowercase hex SHA-256 of the DER. */
export function certificateId(pemOrDer: string | Uint8Array): string {
  const der = typeof pemOrDer === "string" ? certificateDer(pemOrDer) : pemOrDer;
  return sha256Hex(der);
}

/** True when `certPem` is signed by `issuerPem`'s key and valid at `at`. */
export function isEndorsedBy(certPem: string, issuerPem: string, at: Date = new Date()): boolean {
  const cert = new NodeX509Certificate(certPem);
  const issuer = new NodeX509Certificate(issuerPem);
  const t = at.getTime();
  return cert.verify(issuer.publicKey) && Date.parse(cert.validFrom) <= t && t <= Date.parse(cert.validTo);
}
