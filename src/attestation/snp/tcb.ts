import { assert } from "../../util/assert.ts";
import type { SnpProduct, SnpTcb } from "../types.ts";

/**
 * Decodes an 8-byte TCB_VERSION. The byte layout depends on the product:
 * Milan and Genoa: [0] BOOT_LOADER, [1] TEE, [2..5] reserved, [6] SNP, [7] MICROCODE.
 * Turin:           [0] FMC, [1] BOOT_LOADER, [2] TEE, [3] SNP, [4..6] reserved, [7] MICROCODE.
 */
export function decodeTcb(raw: Uint8Array, product: SnpProduct): SnpTcb {
  assert(raw.byteLength === 8, "TCB_VERSION is 8 bytes");
  const at = (i: number): number => raw[i] as number;
  if (product === "Turin") {
    return { fmc: at(0), bootloader: at(1), tee: at(2), snp: at(3), microcode: at(7) };
  }
  return { bootloader: at(0), tee: at(1), snp: at(6), microcode: at(7) };
}

const components = ["bootloader", "tee", "snp", "microcode", "fmc"] as const;

/**
 * The components of `tcb` below `min`, compared one by one (an SVN is a per-component security
 * version: a newer microcode does not make up for an older SNP firmware). Empty means acceptable.
 */
export function tcbShortfalls(tcb: SnpTcb, min: SnpTcb): string[] {
  const short: string[] = [];
  for (const name of components) {
    const want = min[name];
    if (want === undefined) continue;
    const have = tcb[name] ?? 0;
    if (have < want) short.push(`${name} ${have} < ${want}`);
  }
  return short;
}
