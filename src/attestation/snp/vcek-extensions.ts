import type * as x509 from "@peculiar/x509";
import { refuse } from "../encoding.ts";

/**
 * AMD's X.509 extensions in a VCEK certificate (AMD "Versioned Chip Endorsement Key (VCEK)
 * Certificate and KDS Interface Specification"): the TCB the key was derived for, the chip id and
 * the product name. We compare them with the report so a VCEK of another chip or TCB is refused.
 */
const oid = {
  productName: "1.3.6.1.4.1.3704.1.2",
  bootloader: "1.3.6.1.4.1.3704.1.3.1",
  tee: "1.3.6.1.4.1.3704.1.3.2",
  snp: "1.3.6.1.4.1.3704.1.3.3",
  microcode: "1.3.6.1.4.1.3704.1.3.8",
  hwId: "1.3.6.1.4.1.3704.1.4",
} as const;

export type VcekExtensions = {
  productName: string;
  bootloader: number;
  tee: number;
  snp: number;
  microcode: number;
  hwId: Uint8Array;
};

function extensionBytes(cert: x509.X509Certificate, id: string): Uint8Array {
  const ext = cert.extensions.find((e) => e.type === id);
  if (ext === undefined)
    refuse("COTERIE_ERR_ATTESTATION_BAD_CHAIN", `VCEK certificate lacks extension ${id}`);
  return new Uint8Array(ext.value);
}

/** A DER INTEGER of at most 4 content bytes, non-negative (SVNs are small). */
function derSmallInteger(bytes: Uint8Array, id: string): number {
  const length = bytes[1] ?? 0;
  if (
    bytes[0] !== 0x02 ||
    length < 1 ||
    length > 4 ||
    bytes.byteLength !== 2 + length ||
    (bytes[2] ?? 0) & 0x80
  ) {
    refuse("COTERIE_ERR_ATTESTATION_BAD_CHAIN", `VCEK extension ${id} is not a small DER INTEGER`);
  }
  let value = 0;
  for (let i = 2; i < bytes.byteLength; i++) value = value * 256 + (bytes[i] as number);
  return value;
}

/** A DER IA5String or UTF8String with a short-form length. */
function derShortString(bytes: Uint8Array, id: string): string {
  const length = bytes[1] ?? 0;
  if ((bytes[0] !== 0x16 && bytes[0] !== 0x0c) || length > 127 || bytes.byteLength !== 2 + length) {
    refuse("COTERIE_ERR_ATTESTATION_BAD_CHAIN", `VCEK extension ${id} is not a short DER string`);
  }
  return new TextDecoder().decode(bytes.subarray(2));
}

export function readVcekExtensions(cert: x509.X509Certificate): VcekExtensions {
  const int = (id: string): number => derSmallInteger(extensionBytes(cert, id), id);
  return {
    productName: derShortString(extensionBytes(cert, oid.productName), oid.productName),
    bootloader: int(oid.bootloader),
    tee: int(oid.tee),
    snp: int(oid.snp),
    microcode: int(oid.microcode),
    hwId: extensionBytes(cert, oid.hwId),
  };
}
