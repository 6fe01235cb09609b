// The workload table: what each target is asked to do, with how many connections and how deep a
// pipeline, which baseline each Coterie figure is divided by, and which points the quick run keeps.
// A new node count or app variant is one more `coterieWorkloads(target)` line (and one target in
// run.ts).
import type { RequestTemplate } from "./request-template.ts";

export type Workload = {
  name: string;
  target: string;
  description: string;
  templates: RequestTemplate[];
  connections: number;
  pipelining: number;
  /** Writes run (and answered) before measuring, so that reads find records: ids 0..count-1. */
  preload?: { templates: RequestTemplate[]; count: number };
  /** Also measure open loop at these fractions of this run's closed-loop saturation throughput. */
  openLoop: boolean;
  /** Workload names to divide this one's closed-loop throughput by. */
  compare?: { ceiling?: string; etcd?: string; builtin?: string; floor?: string };
  /**
   * What `--quick` runs of this workload: its closed loop only, or also its open-loop points;
   * absent: nothing (the quick run must stay under two minutes on a 2-core machine).
   */
  quick?: "closed" | "closed+open";
};

/** The workloads a run measures, and for each whether its open-loop points are run. */
export function plannedWorkloads(
  workloads: readonly Workload[],
  quick: boolean,
  only: readonly string[] | null,
): Workload[] {
  const chosen = workloads.filter(
    (w) => only === null || only.some((t) => w.name.includes(t) || w.target.includes(t)),
  );
  if (!quick) return chosen;
  return chosen
    .filter((w) => w.quick !== undefined)
    .map((w) => ({ ...w, openLoop: w.openLoop && w.quick === "closed+open" }));
}

const json = { "content-type": "application/json" };
export const LOG_BODY = '{"id":{id},"msg":"benchmark record {id} abcdefghijklmnopqrstuvwxyz"}';
/** Keys preloaded for read workloads (ids 0..n-1); the write workloads start above them. */
export const PRELOAD_KEYS = 10_000;
export const WRITE_ID_START = 1_000_000;

function logWrite(name: string, map: "private" | "public", query = ""): RequestTemplate {
  return { name, weight: 1, method: "POST", path: `/app/log/${map}${query}`, body: LOG_BODY, headers: json };
}
const logRead: RequestTemplate = {
  name: "read",
  weight: 1,
  method: "GET",
  path: "/app/log/private?id={rand}",
};
/** etcd keys are "k<id>", values a 45-byte string like the log body's message, base64 as the gateway wants. */
const ETCD_VALUE = Buffer.from("benchmark record abcdefghijklmnopqrstuvwxyz").toString("base64");
const etcdPut: RequestTemplate = {
  name: "put",
  weight: 1,
  method: "POST",
  path: "/v3/kv/put",
  body: `{"key":"{id64}","value":"${ETCD_VALUE}"}`,
  headers: json,
};
const etcdRange: RequestTemplate = {
  name: "range",
  weight: 1,
  method: "POST",
  path: "/v3/kv/range",
  body: '{"key":"{rand64}"}',
  headers: json,
};

/**
 * The node configuration of the `coterie-3-p256` target: P-256 node keys (docs/decisions/
 * node-key-curve.md) make a signature cheap (~0.1 ms), so adaptive signing may start one as soon as
 * the last has committed, with a 1 ms floor. The defaults stay P-384 and a fixed 10 ms interval.
 */
export const LOW_LATENCY_CONFIG = {
  nodeKey: { curve: "P-256" },
  signatures: { intervalTxs: 5000, intervalMs: 10, minIntervalMs: 1 },
};

/** Which points of the five Coterie workloads the quick run keeps, per target. */
type QuickPlan = { write?: Workload["quick"]; read?: Workload["quick"]; commit?: Workload["quick"] };

/** The replicated floor's respond-on-commit workload with `members` members (bench/replicated-floor.ts). */
const floorWrite = (members: number) => `floor-${members} write, committed`;

function coterieWorkloads(target: string, quick: QuickPlan, floor?: string): Workload[] {
  const preload = { templates: [logWrite("write", "private")], count: PRELOAD_KEYS };
  const vs = { ceiling: "ceiling", etcd: "etcd put" };
  const workloads: Workload[] = [
    {
      name: `${target} private write`,
      target,
      description: "POST /app/log/private, answered with the tx id (not yet committed)",
      templates: [logWrite("write", "private")],
      connections: 16,
      pipelining: 16,
      openLoop: true,
      compare: vs,
    },
    {
      name: `${target} public write`,
      target,
      description: "POST /app/log/public",
      templates: [logWrite("write", "public")],
      connections: 16,
      pipelining: 16,
      openLoop: false,
      compare: vs,
    },
    {
      name: `${target} private read`,
      target,
      description: "GET /app/log/private?id=<random preloaded id>",
      templates: [logRead],
      connections: 16,
      pipelining: 16,
      preload,
      openLoop: false,
      compare: { ceiling: "ceiling", etcd: "etcd range" },
    },
    {
      name: `${target} mixed 50/50`,
      target,
      description: "half private writes, half private reads",
      templates: [logWrite("write", "private"), logRead],
      connections: 16,
      pipelining: 16,
      preload,
      openLoop: false,
      compare: { ceiling: "ceiling", etcd: "etcd mixed 50/50" },
    },
    {
      name: `${target} write, wait for commit`,
      target,
      description: "POST /app/log/private?wait_for_commit=true: answered once committed (respond-on-commit)",
      templates: [logWrite("write", "private", "?wait_for_commit=true")],
      connections: 32,
      pipelining: 8,
      openLoop: true,
      compare: floor === undefined ? vs : { ...vs, floor },
    },
  ];
  const plan: Record<string, Workload["quick"]> = {
    [`${target} private write`]: quick.write,
    [`${target} private read`]: quick.read,
    [`${target} write, wait for commit`]: quick.commit,
  };
  return workloads.map((w) => {
    const points = plan[w.name];
    return points === undefined ? w : { ...w, quick: points };
  });
}

/**
 * The logging app deployed as a governed bundle (`coterie app deploy` + a member's vote) on a
 * fresh one-node sandbox: the same private write as `coterie-1 private write`, same generator
 * settings, divided by it.
 */
const bundleWrite: Workload = {
  name: "coterie-1-bundle private write",
  target: "coterie-1-bundle",
  description: "POST /app/log/private served by the logging app as a governed bundle (process sandbox)",
  templates: [logWrite("write", "private")],
  connections: 16,
  pipelining: 16,
  openLoop: false,
  compare: { ceiling: "ceiling", etcd: "etcd put", builtin: "coterie-1 private write" },
  quick: "closed",
};

/**
 * The replicated floor (bench/replicated-floor.ts): the same request bytes and generator settings
 * as Coterie's respond-on-commit writes, answered once durable on a majority of `members`, with
 * nothing else done. Coterie's respond-on-commit rows are divided by it ("÷ floor").
 */
function floorWorkload(members: number, openLoop: boolean): Workload {
  return {
    name: floorWrite(members),
    target: `floor-${members}`,
    description: `request body appended to an O_DSYNC log on ${members === 1 ? "one member" : `a majority of ${members} members (one mTLS frame per event-loop turn to each backup)`}, answered once durable there`,
    templates: [logWrite("write", "private", "?wait_for_commit=true")],
    connections: 32,
    pipelining: 8,
    openLoop,
    compare: { ceiling: "ceiling", etcd: "etcd put" },
  };
}

export const WORKLOADS: readonly Workload[] = [
  {
    name: "ceiling",
    target: "ceiling",
    description: "same request bytes as a private write, fixed answer",
    templates: [logWrite("write", "private")],
    connections: 16,
    pipelining: 16,
    openLoop: true,
    quick: "closed+open",
  },
  {
    name: "etcd put",
    target: "etcd",
    description: "POST /v3/kv/put, 45-byte value; answered once committed and fsynced",
    templates: [etcdPut],
    connections: 256,
    pipelining: 1,
    openLoop: true,
    compare: { ceiling: "ceiling" },
    quick: "closed",
  },
  {
    name: "etcd range",
    target: "etcd",
    description: "POST /v3/kv/range of a random preloaded key (linearizable read)",
    templates: [etcdRange],
    connections: 256,
    pipelining: 1,
    openLoop: false,
    compare: { ceiling: "ceiling" },
    preload: { templates: [etcdPut], count: PRELOAD_KEYS },
  },
  {
    name: "etcd mixed 50/50",
    target: "etcd",
    description: "half puts, half ranges",
    templates: [etcdPut, etcdRange],
    connections: 256,
    pipelining: 1,
    openLoop: false,
    compare: { ceiling: "ceiling" },
    preload: { templates: [etcdPut], count: PRELOAD_KEYS },
  },
  { ...floorWorkload(1, false), quick: "closed" },
  { ...floorWorkload(3, true), quick: "closed" },
  ...coterieWorkloads("coterie-1", { write: "closed", read: "closed", commit: "closed" }, floorWrite(1)),
  // Three and five nodes (`sandbox --nodes N`), driven through the primary (node0) the sandbox
  // starts first. Five nodes take ~15 s to start here, so the quick run leaves them out.
  ...coterieWorkloads("coterie-3", { write: "closed", commit: "closed+open" }, floorWrite(3)),
  ...coterieWorkloads("coterie-5", {}),
  // The same three nodes configured for commit latency (LOW_LATENCY_CONFIG): only the writes.
  ...coterieWorkloads("coterie-3-p256", { commit: "closed+open" }, floorWrite(3)).filter(
    (w) => w.name.endsWith("private write") || w.name.endsWith("wait for commit"),
  ),
  bundleWrite,
];

export const OPEN_LOOP_FRACTIONS = [0.25, 0.75] as const;
