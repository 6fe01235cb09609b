import { createSnpPlatform, type SnpPlatformOptions } from "./snp/platform.ts";
import type { Platform, PlatformName } from "./types.ts";
import { createVirtualPlatform, type VirtualPlatformOptions } from "./virtual/platform.ts";

/** Options of each platform, by name. */
export type PlatformOptions = { virtual: VirtualPlatformOptions; "sev-snp": SnpPlatformOptions };

/**
 * Creates the platform a node runs on. The node prints `describeSecurity().message` at start-up
 * (loudly when `insecure`).
 *
 * @example
 * const platform = createPlatform("virtual", { measurement, machineKeyPath: "state/machine.key" });
 * const evidence = await platform.getEvidence(reportDataForPublicKey(nodePublicKeyDer));
 */
export function createPlatform<N extends PlatformName>(name: N, options: PlatformOptions[N]): Platform {
  if (name === "virtual") return createVirtualPlatform(options as VirtualPlatformOptions);
  if (name === "sev-snp") return createSnpPlatform(options as SnpPlatformOptions);
  throw new TypeError(`unknown platform ${JSON.stringify(name)}; expected "virtual" or "sev-snp"`);
}
