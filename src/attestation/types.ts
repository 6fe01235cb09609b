/**
 * The public types of the attestation layer. Evidence is a tagged union that survives
 * `JSON.stringify`/`JSON.parse` unchanged (bytes are base64 or lowercase hex), so the node can put
 * it in a join request and governance can record it.
 */

/** The platforms a node can run on. */
export type PlatformName = "virtual" | "sev-snp";

/** AMD EPYC generations with a pinned SEV-SNP root key (ARK). */
export type SnpProduct = "Milan" | "Genoa" | "Turin";

/**
 * Evidence from an AMD SEV-SNP guest: the 1184-byte ATTESTATION_REPORT and the certificates that
 * endorse the key that signed it.
 */
export type SnpEvidence = {
  platform: "sev-snp";
  /** base64 of the raw 1184-byte report. */
  report: string;
  /** PEM, exactly three certificates in this order: VCEK (leaf), ASK, ARK. */
  endorsements: string;
};

/**
 * Evidence from the insecure `virtual` platform: a statement signed by a key the platform made up.
 * Anyone can produce it; it proves nothing about the code that runs.
 */
export type VirtualEvidence = {
  platform: "virtual";
  /** base64 of the UTF-8 JSON `{"platform":"virtual","measurement","hostData","reportData"}` (hex). */
  statement: string;
  /** base64 of the Ed25519 signature over the statement bytes. */
  signature: string;
  /** base64 of the DER SubjectPublicKeyInfo of the Ed25519 key that signed. */
  publicKey: string;
};

/** Evidence of any platform; narrow on `platform`. */
export type Evidence = SnpEvidence | VirtualEvidence;

/** The SVNs of one TCB_VERSION value. `fmc` exists on Turin and later only. */
export type SnpTcb = { bootloader: number; tee: number; snp: number; microcode: number; fmc?: number };

/**
 * What governance allows. Hex strings may use either case. Every list is an allow-list: an empty
 * list allows nothing.
 */
export type AttestationPolicy = {
  /** Allowed code measurements, hex (48 bytes on both platforms). */
  measurements: readonly string[];
  /** Allowed host data, hex (32 bytes). Allow all-zero host data explicitly if the host sets none. */
  hostData: readonly string[];
  /**
   * Minimum reported TCB per product, compared component by component. A product with no entry is
   * refused: set all zeros to accept any TCB deliberately.
   */
  minTcb: Partial<Record<SnpProduct, SnpTcb>>;
  /** Accept reports whose guest policy allows debugging. Default false; never in production. */
  allowDebug?: boolean;
  /** Accept evidence from the insecure `virtual` platform. Default false; development and CI only. */
  allowVirtual?: boolean;
};

/** Facts specific to a verified SEV-SNP report. */
export type SnpFacts = {
  product: SnpProduct;
  reportVersion: number;
  guestSvn: number;
  /** Guest policy, hex of the little-endian u64 read as a number (e.g. "0x30000"). */
  policy: string;
  vmpl: number;
  reportedTcb: SnpTcb;
  /** Hex; all zeros when the guest asked to mask the chip id. */
  chipId: string;
};

/** The result of `verifyEvidence`: what the evidence proves, in JSON-friendly form. */
export type VerifiedEvidence = {
  platform: PlatformName;
  /** True for the virtual platform: the facts below are claims, not proofs. */
  insecure: boolean;
  measurement: string;
  hostData: string;
  reportData: string;
  snp?: SnpFacts;
};

/** How secure a platform is, for the start-up banner. */
export type SecurityDescription = { insecure: boolean; message: string };

/**
 * One platform a node runs on. `getEvidence` is called at start and join with the report data
 * that binds the node's public key (see `reportDataForPublicKey`); `seal`/`unseal` keep secrets
 * across restarts so that only the same approved code on the same machine can read them.
 */
export interface Platform {
  readonly name: PlatformName;
  describeSecurity(): SecurityDescription;
  getEvidence(reportData: Uint8Array): Promise<Evidence>;
  seal(plaintext: Uint8Array, label: string): Promise<Uint8Array>;
  unseal(sealed: Uint8Array, label: string): Promise<Uint8Array>;
}
