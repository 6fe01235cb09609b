import type { SnpProduct } from "../types.ts";

/**
 * A root of trust for SEV-SNP endorsements: the SHA-256 of the DER SubjectPublicKeyInfo of an
 * AMD Root Key (ARK), and the product whose chips it endorses.
 */
export type SnpTrustedRoot = { product: SnpProduct; spkiSha256: string };

/**
 * AMD's ARKs, pinned by public-key fingerprint rather than by certificate, so a re-issued ARK
 * certificate with the same key still verifies. Each value is
 * `openssl x509 -in ark.pem -noout -pubkey | openssl pkey -pubin -outform DER | sha256sum`
 * over the ARK certificate AMD publishes for the product (https://kdsintf.amd.com/vcek/v1/<Product>/cert_chain).
 * The Milan value is also the ARK of ../shared/vectors/sev-snp/milan-endorsements.pem.
 * docs/attestation.md says how to check and extend this list.
 */
export const amdRoots: readonly SnpTrustedRoot[] = [
  { product: "Milan", spkiSha256: "9f056bee44377e29308cb5ffa895bdfb62d18881fa6bed8d6f075b0204089cb9" },
  { product: "Genoa", spkiSha256: "429a69c9422aa258ee4d8db5fcda9c6470ef15f8cd5a9cebd6cbc7d90b863831" },
  { product: "Turin", spkiSha256: "4f125410563a2ab9a50356f9243f6fe0b6f73de98603f53f90339c70e9d7ad08" },
];
