// Throwaway TLS material for the baseline server: a CA, a server certificate and a client
// certificate (P-256, like Coterie's own identities), written as PEM files into `dir`. The client
// certificate is what makes the ceiling a *mutual* TLS ceiling.
import { webcrypto } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import * as x509 from "@peculiar/x509";

export type CertFiles = {
  caFile: string;
  serverCertFile: string;
  serverKeyFile: string;
  certFile: string;
  keyFile: string;
};

const ALG = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;
const DAY_MS = 24 * 3600 * 1000;

async function keyPem(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey("pkcs8", key));
  return `-----BEGIN PRIVATE KEY-----\n${der.toString("base64").replace(/(.{64})/g, "$1\n")}\n-----END PRIVATE KEY-----\n`;
}

async function issue(subject: string, ca: CryptoKeyPair, caName: string, serial: string, isServer: boolean) {
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ["sign", "verify"])) as CryptoKeyPair;
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.ExtendedKeyUsageExtension([isServer ? "1.3.6.1.5.5.7.3.1" : "1.3.6.1.5.5.7.3.2"]),
  ];
  if (isServer)
    extensions.push(new x509.SubjectAlternativeNameExtension([{ type: "ip", value: "127.0.0.1" }]));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial,
    subject,
    issuer: caName,
    notBefore: new Date(Date.now() - DAY_MS),
    notAfter: new Date(Date.now() + 30 * DAY_MS),
    signingAlgorithm: ALG,
    publicKey: keys.publicKey,
    signingKey: ca.privateKey,
    extensions,
  });
  return { cert: cert.toString("pem"), key: await keyPem(keys.privateKey) };
}

/** Creates the CA, server and client certificates in `dir`; returns the file paths. */
export async function writeBenchCerts(dir: string): Promise<CertFiles> {
  x509.cryptoProvider.set(webcrypto as unknown as Crypto);
  const caName = "CN=coterie-bench-ca";
  const ca = (await webcrypto.subtle.generateKey(ALG, true, ["sign", "verify"])) as CryptoKeyPair;
  const caCert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: "01",
    name: caName,
    notBefore: new Date(Date.now() - DAY_MS),
    notAfter: new Date(Date.now() + 30 * DAY_MS),
    signingAlgorithm: ALG,
    keys: ca,
    extensions: [new x509.BasicConstraintsExtension(true, undefined, true)],
  });
  const server = await issue("CN=127.0.0.1", ca, caName, "02", true);
  const client = await issue("CN=bench-user", ca, caName, "03", false);
  const files: CertFiles = {
    caFile: join(dir, "ca.pem"),
    serverCertFile: join(dir, "server_cert.pem"),
    serverKeyFile: join(dir, "server_privk.pem"),
    certFile: join(dir, "user_cert.pem"),
    keyFile: join(dir, "user_privk.pem"),
  };
  writeFileSync(files.caFile, caCert.toString("pem"));
  writeFileSync(files.serverCertFile, server.cert);
  writeFileSync(files.serverKeyFile, server.key, { mode: 0o600 });
  writeFileSync(files.certFile, client.cert);
  writeFileSync(files.keyFile, client.key, { mode: 0o600 });
  return files;
}
