import { createHash, generateKeyPairSync, randomBytes } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { fromHex, refuse } from "../encoding.ts";
import { reportDataBytes } from "../report-data.ts";
import { sealMagic, sealWith, unsealWith } from "../seal.ts";
import type { Platform, SecurityDescription, VirtualEvidence } from "../types.ts";
import { makeVirtualEvidence } from "./statement.ts";

export type VirtualPlatformOptions = {
  /** The code measurement this node claims, 48 bytes of hex (see `virtualMeasurement`). */
  measurement: string;
  /** Host data it claims, 32 bytes of hex; default all zeros. */
  hostData?: string;
  /**
   * File holding the per-machine sealing key (32 random bytes, created with mode 0600 if absent).
   * Anyone who can read it can unseal: that is why the platform is insecure.
   */
  machineKeyPath: string;
};

const machineKeyBytes = 32;

/** A measurement for the virtual platform: SHA-384 of whatever identifies the code (e.g. a bundle). */
export function virtualMeasurement(codeIdentity: Uint8Array): string {
  return createHash("sha384").update(codeIdentity).digest("hex");
}

async function loadMachineKey(path: string): Promise<Uint8Array> {
  try {
    await writeFile(path, randomBytes(machineKeyBytes), { flag: "wx", mode: 0o600 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  }
  const key = new Uint8Array(await readFile(path));
  if (key.byteLength !== machineKeyBytes) {
    refuse(
      "COTERIE_ERR_ATTESTATION_UNSEAL_FAILED",
      `machine key file ${path} must hold ${machineKeyBytes} bytes`,
    );
  }
  return key;
}

const warning = [
  "*** INSECURE: this node runs on the 'virtual' attestation platform. ***",
  "There is no hardware protection: the host can read its memory and keys, its evidence is a",
  "self-signed claim anyone can forge, and sealed files are readable by whoever holds the machine key file.",
  "Use it for development and CI only; production nodes must run on 'sev-snp'.",
].join("\n");

/** Creates the virtual platform. Its evidence and sealing mimic SEV-SNP's shape, not its security. */
export function createVirtualPlatform(options: VirtualPlatformOptions): Platform {
  const measurement = fromHex(options.measurement, "virtual measurement", 48);
  const hostData = fromHex(options.hostData ?? "00".repeat(32), "virtual hostData", 32);
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  let machineKey: Promise<Uint8Array> | undefined;
  const key = () => (machineKey ??= loadMachineKey(options.machineKeyPath));
  return {
    name: "virtual",
    describeSecurity: (): SecurityDescription => ({ insecure: true, message: warning }),
    getEvidence: async (reportData: Uint8Array): Promise<VirtualEvidence> => {
      if (reportData.byteLength !== reportDataBytes)
        throw new RangeError(`reportData must be ${reportDataBytes} bytes`);
      return makeVirtualEvidence({ measurement, hostData, reportData }, privateKey, publicKey);
    },
    seal: async (plaintext, label) => sealWith(sealMagic.virtual, await key(), measurement, plaintext, label),
    unseal: async (sealed, label) => unsealWith(sealMagic.virtual, await key(), measurement, sealed, label),
  };
}
