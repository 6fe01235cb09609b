// A real node's sealed identity, read from its data directory (tests check the key it holds).
import { join } from "node:path";
import { validateConfig } from "../../src/node/config.ts";
import { type Identity, loadIdentity } from "../../src/node/identity.ts";
import { platformFor } from "../../src/node/node.ts";

/** The sealed identity of the node whose data directory is `dataDir`. */
export function sealedIdentity(dataDir: string): Promise<Identity> {
  const config = validateConfig({ dataDir });
  return loadIdentity(join(dataDir, "sealed"), platformFor(config));
}
