/** What governance adds to the genesis transaction: the default constitution. */
import type { Tx } from "../kv/index.ts";
import { CONSTITUTION_KEY, constitutionTable } from "../tables/governance.ts";
import { constitutionSource } from "./constitutions/index.ts";

export function genesisGovernance(tx: Tx, constitution: string = constitutionSource("default")): void {
  constitutionTable.in(tx).put(CONSTITUTION_KEY, constitution);
}
