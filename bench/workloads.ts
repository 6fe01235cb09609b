// The workload table: what each target is asked to do, with how many connections and how deep a
// pipeline, and which baseline each Coterie figure is divided by. Adding the 3- and 5-node
// entries or the governed-bundle endpoint is one entry each (see the comments at the end).
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
  compare?: { ceiling?: string; etcd?: string };
};

const json = { "content-type": "application/json" };
const LOG_BODY = '{"id":{id},"msg":"benchmark record {id} abcdefghijklmnopqrstuvwxyz"}';
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

function coterieWorkloads(target: string): Workload[] {
  const preload = { templates: [logWrite("write", "private")], count: PRELOAD_KEYS };
  const vs = { ceiling: "ceiling", etcd: "etcd put" };
  return [
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
      compare: vs,
    },
  ];
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
  ...coterieWorkloads("coterie-1"),
  // Three nodes (`sandbox --nodes 3`), driven through the primary (node0) the sandbox starts first.
  ...coterieWorkloads("coterie-3"),
  // Governed bundle: one entry like `${target} private write` whose path is the bundle's endpoint.
];

export const OPEN_LOOP_FRACTIONS = [0.25, 0.75] as const;
