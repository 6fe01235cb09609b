// The server side of the baselines' mutual TLS (the ceiling, the replicated floor): TLS 1.3 only,
// a client certificate required and verified against the bench CA, as a Coterie node requires.
import { readFileSync } from "node:fs";
import type { TlsOptions } from "node:tls";

export function mtlsServerOptions(caFile: string, certFile: string, keyFile: string): TlsOptions {
  return {
    ca: readFileSync(caFile),
    cert: readFileSync(certFile),
    key: readFileSync(keyFile),
    requestCert: true,
    rejectUnauthorized: true,
    minVersion: "TLSv1.3",
  };
}
