/**
 * Wires the recovery endpoints to the restore: accepted shares are collected in memory, and at the
 * threshold the private state is restored in the background (the response to the last share does
 * not wait for it; `GET /gov/v1/recovery` shows when the state becomes `Restored`).
 */
import { join } from "node:path";
import type { App } from "../app/types.ts";
import type { ConstitutionRuntime } from "../governance/index.ts";
import { CoterieError } from "../util/errors.ts";
import type { NodeConfig } from "./config.ts";
import type { Engine } from "./engine.ts";
import type { Logger } from "./logger.ts";
import { restorePrivateState } from "./recovery-restore.ts";
import { createRecoveryApp, createShareCollector } from "./recovery-routes.ts";
import { committedSnapshots, readSnapshot } from "./snapshot-files.ts";

export function recoveryApp(
  engine: Engine,
  runtime: ConstitutionRuntime,
  config: NodeConfig,
  log: Logger,
  persistIdentity: () => Promise<void>,
): App {
  const collector = createShareCollector((shares) => {
    log.info("recovery threshold reached; restoring the private state", { shares: shares.length });
    restorePrivateState(engine, shares, {
      writeSetBytesMax: config.kv.writeSetBytesMax,
      persist: persistIdentity,
      readSnapshot: (seqno) => {
        const file = committedSnapshots(join(config.dataDir, "snapshots")).find((f) => f.seqno === seqno);
        if (file === undefined)
          throw new CoterieError(
            "COTERIE_ERR_RECOVERY_FAILED",
            `snapshot ${seqno} is not in the data directory`,
          );
        return readSnapshot(file);
      },
    }).then(
      (done) => log.info("private state restored; the service is open", done),
      (error: unknown) => log.error("recovery failed", { error: String(error) }),
    );
  });
  return createRecoveryApp(collector, runtime);
}
