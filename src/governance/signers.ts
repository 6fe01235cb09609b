/**
 * Member signers for governance requests (node-only): a PEM private key, or an external command
 * that holds the key (a hardware token, a cloud KMS CLI), so members need not keep keys in files.
 *
 * External signer protocol: the command runs through `/bin/sh -c`, gets the COSE to-be-signed
 * bytes (the Sig_structure) on stdin, and prints the ECDSA signature over them, hashed with the
 * curve's SHA-2 (P-256: SHA-256, P-384: SHA-384), as base64 on stdout — either DER
 * (ECDSA-Sig-Value, what `openssl dgst -sign` prints) or raw P1363 r‖s. Exit status 0. E.g.
 *   --signer-command 'openssl dgst -sha384 -sign member0_privk.pem | base64 -w0'
 */
import { spawnSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { COSE_ALG, type CoseAlg, type CoseSigner } from "../crypto/cose.ts";
import { curveOf, privateKeyFromPem, signP1363 } from "../crypto/keys.ts";
import { certificateDer, certificateId } from "../crypto/x509.ts";
import { CoterieError } from "../util/errors.ts";

/** Output of a signer command read at most; a signature is under 200 bytes of base64. */
export const SIGNER_OUTPUT_BYTES_MAX = 4096;
export const SIGNER_TIMEOUT_MS = 30_000;

function algOfCert(certPem: string): { alg: CoseAlg; bytes: number } {
  const curve = curveOf(new X509Certificate(certPem).publicKey);
  return curve === "P-256" ? { alg: COSE_ALG.ES256, bytes: 32 } : { alg: COSE_ALG.ES384, bytes: 48 };
}

/** The COSE kid of a member: the 32 raw bytes of SHA-256(certificate DER). */
export function memberKid(certPem: string): Uint8Array {
  return new Uint8Array(Buffer.from(certificateId(certificateDer(certPem)), "hex"));
}

export function pemSigner(certPem: string, keyPem: string): CoseSigner {
  const key = privateKeyFromPem(keyPem);
  const { alg } = algOfCert(certPem);
  return { alg, kid: memberKid(certPem), sign: async (tbs) => signP1363(key, tbs) };
}

/** DER ECDSA-Sig-Value → P1363 r‖s with each integer left-padded to `bytes`. */
export function derToP1363(der: Uint8Array, bytes: number): Uint8Array {
  const bad = () =>
    new CoterieError("COTERIE_ERR_GOV_SIGNER_FAILED", "the signature is neither P1363 nor DER ECDSA");
  let pos = 0;
  const readLength = (): number => {
    const first = der[pos++];
    if (first === undefined) throw bad();
    if (first < 0x80) return first;
    if (first !== 0x81) throw bad();
    const n = der[pos++];
    if (n === undefined) throw bad();
    return n;
  };
  if (der[pos++] !== 0x30) throw bad();
  if (readLength() !== der.length - pos) throw bad();
  const out = new Uint8Array(2 * bytes);
  for (let i = 0; i < 2; i++) {
    if (der[pos++] !== 0x02) throw bad();
    const n = readLength();
    let int = der.subarray(pos, pos + n);
    pos += n;
    while (int.length > bytes && int[0] === 0) int = int.subarray(1);
    if (int.length > bytes || int.length === 0) throw bad();
    out.set(int, (i + 1) * bytes - int.length);
  }
  if (pos !== der.length) throw bad();
  return out;
}

export function commandSigner(certPem: string, command: string): CoseSigner {
  const { alg, bytes } = algOfCert(certPem);
  return {
    alg,
    kid: memberKid(certPem),
    async sign(tbs) {
      const r = spawnSync("/bin/sh", ["-c", command], {
        input: tbs,
        maxBuffer: SIGNER_OUTPUT_BYTES_MAX,
        timeout: SIGNER_TIMEOUT_MS,
      });
      if (r.error || r.status !== 0) {
        throw new CoterieError(
          "COTERIE_ERR_GOV_SIGNER_FAILED",
          `signer command failed (${r.error?.message ?? `exit ${r.status}`}): ${String(r.stderr ?? "").slice(0, 500)}`,
        );
      }
      const text = r.stdout.toString("utf8").trim();
      if (!/^[A-Za-z0-9+/=]+$/.test(text)) {
        throw new CoterieError(
          "COTERIE_ERR_GOV_SIGNER_FAILED",
          "the signer must print the signature as base64",
        );
      }
      const sig = new Uint8Array(Buffer.from(text, "base64"));
      try {
        return derToP1363(sig, bytes);
      } catch (error) {
        if (sig.length === 2 * bytes) return sig; // raw P1363
        throw error;
      }
    },
  };
}
