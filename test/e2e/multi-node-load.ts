// A write load against a multi-node network: writers send to the node they believe is primary,
// follow a 307 once, and re-discover the primary on errors. Every write the service reported
// Committed (respond-on-commit) is remembered with its seqno, so a test can check none of them is
// ever lost, and on a node that left the configuration, none it knew was committed.
import { type Client, client } from "./harness.ts";
import { findPrimary, type Net, type NetNode, withTimeout } from "./multi-node-harness.ts";

/** A write the service reported Committed: the message written and the seqno of its transaction. */
export type CommittedWrite = { msg: string; seqno: number };

export type Load = {
  /** By record id. */
  committed: Map<number, CommittedWrite>;
  /** Times (ms since the epoch) at which some write was reported Committed. */
  commitTimes: number[];
  errors: number;
  lastError: string;
  stop(): Promise<void>;
};

/**
 * Record ids are unique across every load of the test process: with ids restarting at 1, a record
 * of an earlier load (same id, same message) answered for a later write that a node never received.
 */
let nextId = 1;

export function startLoad(net: Net, writers = 4): Load {
  const committed = new Map<number, CommittedWrite>();
  const commitTimes: number[] = [];
  let running = true;
  let errors = 0;
  let lastError = "";
  let primary: NetNode | null = null;
  const clients = new Map<NetNode, Client>();
  const clientFor = (n: NetNode) => {
    let c = clients.get(n);
    if (c === undefined) clients.set(n, (c = client(n, net.ws.user)));
    return c;
  };
  const writer = async () => {
    while (running) {
      primary ??= await findPrimary(net.nodes);
      if (primary === null) {
        await new Promise((r) => setTimeout(r, 50));
        continue;
      }
      const id = nextId++;
      const msg = `m${id}`;
      try {
        const write = clientFor(primary).post("/app/log/private?wait_for_commit=true", { id, msg });
        const r = await withTimeout(write, 5000, "write");
        if (r.status === 200 && r.json().status === "Committed") {
          const seqno = Number(String(r.json().transaction_id).split(".")[1]);
          committed.set(id, { msg, seqno });
          commitTimes.push(Date.now());
        } else {
          // 307 (not primary), 503 (no primary known, e.g. a retired node): find the primary again.
          errors++;
          lastError = `${r.status} ${r.body.slice(0, 200)}`;
          primary = null;
        }
      } catch (error) {
        errors++;
        lastError = String(error);
        primary = null;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  };
  const running$ = Array.from({ length: writers }, () => writer());
  return {
    committed,
    commitTimes,
    get errors() {
      return errors;
    },
    get lastError() {
      return lastError;
    },
    async stop() {
      running = false;
      await Promise.all(running$);
      for (const c of clients.values()) c.close();
    },
  };
}

/** The longest gap between two consecutive commit reports within [fromMs, toMs], and where it starts. */
export function longestCommitGap(
  times: number[],
  fromMs: number,
  toMs: number,
): { gapMs: number; atMs: number } {
  const inside = times.filter((t) => t >= fromMs && t <= toMs).sort((a, b) => a - b);
  let gap = { gapMs: 0, atMs: 0 };
  let prev = fromMs;
  for (const t of [...inside, toMs]) {
    if (t - prev > gap.gapMs) gap = { gapMs: t - prev, atMs: prev - fromMs };
    prev = t;
  }
  return gap;
}
