/** Member and user identities as files: a private key (mode 0600) and a self-signed certificate. */
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { generateKeyPair, privateKeyToPem } from "../crypto/keys.ts";
import { createSelfSignedCertificate } from "../crypto/x509.ts";

export type IdentityFiles = { certPath: string; keyPath: string };

export function identityPaths(dir: string, name: string): IdentityFiles {
  return { certPath: join(dir, `${name}_cert.pem`), keyPath: join(dir, `${name}_privk.pem`) };
}

/** Creates `<name>_privk.pem` and `<name>_cert.pem` in `dir` unless they exist. */
export async function ensureIdentityFiles(dir: string, name: string): Promise<IdentityFiles> {
  const paths = identityPaths(dir, name);
  if (existsSync(paths.certPath) && existsSync(paths.keyPath)) return paths;
  const pair = generateKeyPair("P-384");
  const cert = await createSelfSignedCertificate(pair, {
    subject: `CN=${name}`,
    validityDays: 365,
    ca: false,
  });
  writeFileSync(paths.keyPath, privateKeyToPem(pair.privateKey), { mode: 0o600 });
  writeFileSync(paths.certPath, cert);
  return paths;
}
