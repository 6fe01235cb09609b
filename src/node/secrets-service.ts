/**
 * Watches what governance asks of the ledger secrets and acts on the primary: a
 * `trigger_ledger_rekey` request (the `ledger_rekey` key of `public:coterie.gov.service.triggers`)
 * becomes a rekey; recovery shares that no longer match the members with an encryption key, the
 * threshold or the latest secret are reissued. Polling keeps it stateless: after a restart the
 * tables alone say what is left to do.
 */
import { serviceTriggers } from "../tables/governance.ts";
import type { Engine } from "./engine.ts";
import { currentLedgerSecret } from "./identity.ts";
import type { Logger } from "./logger.ts";
import { sharesCurrent } from "./recovery-shares.ts";
import { reissueShares, rekey } from "./secrets.ts";

export const SECRETS_POLL_MS = 50;

export class SecretsService {
  private readonly engine: Engine;
  private readonly log: Logger;
  private readonly enabled: () => boolean;
  private timer: NodeJS.Timeout | null = null;
  private busy = false;

  /** `enabled`: whether this node acts now (the primary, not waiting for recovery shares). */
  constructor(engine: Engine, log: Logger, enabled: () => boolean = () => true) {
    this.engine = engine;
    this.log = log;
    this.enabled = enabled;
  }

  start(): void {
    this.timer = setInterval(() => void this.tick(), SECRETS_POLL_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** One check; concurrent calls do nothing while one is running. Exposed for tests. */
  async tick(): Promise<void> {
    if (this.busy || !this.enabled()) return;
    this.busy = true;
    try {
      const tx = this.engine.store.beginTx();
      const trigger = serviceTriggers.in(tx).get("ledger_rekey");
      if (trigger !== undefined) {
        const seqno = await rekey(this.engine);
        if (seqno !== null) this.log.info("ledger rekeyed", { seqno, proposal_id: trigger.proposal_id });
      } else if (!sharesCurrent(tx, currentLedgerSecret(this.engine.identity))) {
        const seqno = await reissueShares(this.engine);
        if (seqno !== null) this.log.info("recovery shares issued", { seqno });
      }
    } catch (error) {
      this.log.error("ledger secret maintenance failed", { error: String(error) });
    } finally {
      this.busy = false;
    }
  }
}
