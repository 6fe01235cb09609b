/** The code identity this build reports; its virtual measurement is what joiners must present. */
export const CODE_ID = "coterie/0.1.0";

/**
 * The code identity this node claims on the virtual platform, whose measurement is
 * SHA-384(code identity). `COTERIE_VIRTUAL_CODE_ID` overrides it so development and tests can run
 * "another build" (the code-update procedure, docs/operations.md). It only exists on the virtual
 * platform, where the measurement is a self-claim anyway; a SEV-SNP measurement comes from the
 * hardware and nothing in the node can change it.
 */
export function virtualCodeId(): string {
  return process.env.COTERIE_VIRTUAL_CODE_ID ?? CODE_ID;
}
