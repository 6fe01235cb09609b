import type { NodeId } from "../../src/consensus/index.ts";
import { type Canary, seededRandom } from "../../src/consensus/index.ts";
import { InvariantError } from "../../src/util/assert.ts";
import { SafetyViolation } from "./checker.ts";
import { Cluster } from "./cluster.ts";

/** Distinct process exit codes, one per kind of failure (TigerBeetle's VOPR convention). */
export const exitCodes = { ok: 0, error: 1, safety: 2, assertion: 3, liveness: 4 } as const;
export type Outcome = keyof typeof exitCodes;

export class LivenessFailure extends Error {
  override name = "LivenessFailure";
}

/** Fault probabilities and sizes, all drawn from the seed so one seed is one run. */
export type FaultProfile = {
  nodeCount: number;
  dropProbability: number;
  duplicateProbability: number;
  delayTicksMax: number;
  crashProbability: number;
  partitionProbability: number;
  persistDelayProbability: number;
  reconfigureProbability: number;
  compactProbability: number;
  transferProbability: number;
  /** Crashing the leader in particular makes elections, where most protocol bugs live. */
  leaderCrashProbability: number;
  /** Cutting the leader off alone leaves divergent uncommitted suffixes (Figure 8's precondition). */
  isolateLeaderProbability: number;
  safetyStepsMax: number;
  /** Small batches and windows make pipelining and partial replication visible. */
  appendBytesMax: number;
  inflightMessagesMax: number;
  /** The simulated caller signs at once when elected (else only with later proposals). */
  signOnElection: boolean;
};

export function pickProfile(random: () => number): FaultProfile {
  const pick = (lo: number, hi: number) => lo + random() * (hi - lo);
  return {
    nodeCount: random() < 0.5 ? 3 : 5,
    dropProbability: pick(0, 0.2),
    duplicateProbability: pick(0, 0.1),
    delayTicksMax: Math.floor(pick(0, 6)),
    crashProbability: pick(0, 0.02),
    partitionProbability: pick(0, 0.005),
    persistDelayProbability: pick(0, 0.5),
    reconfigureProbability: pick(0, 0.004),
    compactProbability: pick(0, 0.01),
    transferProbability: pick(0, 0.003),
    leaderCrashProbability: pick(0, 0.004),
    isolateLeaderProbability: pick(0, 0.004),
    safetyStepsMax: Math.floor(pick(2000, 5000)),
    signOnElection: random() < 0.5,
    appendBytesMax: [64, 256, 4096][Math.floor(random() * 3)]!,
    inflightMessagesMax: 1 + Math.floor(random() * 8),
  };
}

export type RunOptions = { seed: number; canary?: Canary; verbose?: (line: string) => void };
export type RunResult = {
  seed: number;
  outcome: Outcome;
  message: string;
  steps: number;
  /** Highest committed index seen and number of terms that had a leader (how much happened). */
  commits: number;
  elections: number;
};

const idPool: readonly NodeId[] = ["1", "2", "3", "4", "5", "6", "7"];
const livenessTicksMax = 400;
const restartProbability = 0.01;
const healProbability = 0.005;

/** Runs one seed: a safety phase with faults, then a liveness phase on a healed cluster. */
export function runSeed(options: RunOptions): RunResult {
  const random = seededRandom(options.seed);
  const profile = pickProfile(random);
  // Drawn from a stream of their own, so that a seed without deferred syncs runs as it always did.
  const syncRandom = seededRandom(options.seed ^ 0xd15c);
  const syncs = {
    deferLeaderSync: syncRandom() < 0.5,
    completeProbability: 0.02 + syncRandom() * 0.4,
    // A leader crashing before its sync returns loses entries it may have counted on.
    crashUnsyncedProbability: syncRandom() * 0.01,
  };
  options.verbose?.(
    `seed ${options.seed} profile ${JSON.stringify(profile)} deferLeaderSync ${syncs.deferLeaderSync}`,
  );
  const cluster = new Cluster({
    ids: idPool.slice(0, profile.nodeCount),
    seed: options.seed ^ 0x5eed,
    config: {
      electionTimeoutTicks: 10,
      heartbeatIntervalTicks: 2,
      appendBytesMax: profile.appendBytesMax,
      inflightMessagesMax: profile.inflightMessagesMax,
      ...(options.canary ? { canary: options.canary } : {}),
    },
    signOnElection: profile.signOnElection,
    deferLeaderSync: syncs.deferLeaderSync,
    ...(options.verbose ? { onEvent: options.verbose } : {}),
  });
  cluster.delayTicks = () => Math.floor(random() * (profile.delayTicksMax + 1));
  let steps = 0;
  try {
    for (; steps < profile.safetyStepsMax; steps++) {
      safetyStep(cluster, profile, random);
      if (!syncs.deferLeaderSync) continue;
      for (const id of cluster.nodes.keys()) {
        if (syncRandom() < syncs.completeProbability) cluster.completeSync(id);
        else if (cluster.hasUnsynced(id) && syncRandom() < syncs.crashUnsyncedProbability) cluster.crash(id);
      }
    }
    liveness(cluster, Math.floor(random() * 3));
    return { seed: options.seed, outcome: "ok", message: "", steps, ...activity(cluster) };
  } catch (error) {
    const outcome: Outcome =
      error instanceof SafetyViolation
        ? "safety"
        : error instanceof InvariantError
          ? "assertion"
          : error instanceof LivenessFailure
            ? "liveness"
            : "error";
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    if (error instanceof Error) options.verbose?.(error.stack ?? "");
    return { seed: options.seed, outcome, message, steps, ...activity(cluster) };
  }
}

function activity(cluster: Cluster): { commits: number; elections: number } {
  return { commits: cluster.checker.maxCommitted, elections: cluster.checker.leaders.size };
}

function safetyStep(cluster: Cluster, profile: FaultProfile, random: () => number): void {
  const ids = [...cluster.nodes.keys()];
  const roll = random();
  if (roll < 0.1) {
    cluster.now++;
    for (const id of ids) if (random() > 0.05) cluster.tick(id);
  } else if (roll < 0.95) {
    deliverOne(cluster, profile, random);
  } else {
    proposeSome(cluster, random);
  }
  injectFaults(cluster, profile, random);
  for (const id of ids) {
    const node = cluster.nodes.get(id)!;
    if (node.dirty && random() >= profile.persistDelayProbability) cluster.process(id);
  }
}

function deliverOne(cluster: Cluster, profile: FaultProfile, random: () => number): void {
  const ready = cluster.inFlight.flatMap((m, k) => (m.deliverAt <= cluster.now ? [k] : []));
  if (ready.length === 0) return;
  const k = ready[Math.floor(random() * ready.length)]!;
  const item = cluster.inFlight[k]!;
  if (random() < profile.dropProbability) {
    cluster.inFlight.splice(k, 1);
    return;
  }
  if (random() < profile.duplicateProbability) {
    cluster.enqueue(item.message, Math.floor(random() * (profile.delayTicksMax + 1)));
  }
  cluster.deliver(k);
}

function proposeSome(cluster: Cluster, random: () => number): void {
  const leader = cluster.leader();
  if (leader === null) return;
  const count = 1 + Math.floor(random() * 3);
  for (let k = 0; k < count; k++) cluster.propose(leader, { kind: "data", payload: cluster.payload("d") });
  if (random() < 0.6) cluster.propose(leader, { kind: "signature", payload: cluster.payload("s") });
}

/** Each fault is drawn independently every step with the probabilities of the seed's profile. */
function injectFaults(cluster: Cluster, profile: FaultProfile, random: () => number): void {
  const ids = [...cluster.nodes.keys()];
  const id = ids[Math.floor(random() * ids.length)]!;
  if (cluster.alive(id) && random() < profile.crashProbability) cluster.crash(id);
  for (const down of ids) if (!cluster.alive(down) && random() < restartProbability) cluster.restart(down);
  if (random() < profile.partitionProbability) {
    cluster.groups = new Map(ids.map((n) => [n, random() < 0.5 ? 0 : 1]));
    cluster.options.onEvent?.(`partition ${JSON.stringify([...cluster.groups])}`);
  } else if (cluster.groups.size > 0 && random() < healProbability) {
    cluster.options.onEvent?.("heal");
    cluster.groups = new Map();
  }
  if (random() < profile.reconfigureProbability) reconfigure(cluster, random);
  if (random() < profile.compactProbability) cluster.compact(id);
  const leader = cluster.leader();
  if (leader !== null && random() < profile.leaderCrashProbability) cluster.crash(leader);
  else if (leader !== null && random() < profile.isolateLeaderProbability) {
    cluster.groups = new Map(ids.map((n) => [n, n === leader ? 1 : 0]));
    cluster.options.onEvent?.(`isolate leader ${leader}`);
  } else if (leader !== null && random() < profile.transferProbability) {
    const ok = cluster.transferLeadership(leader, id);
    if (ok) cluster.options.onEvent?.(`${leader} transfers leadership to ${id}`);
  }
}

/** The leader proposes adding one node from the pool or removing one voter (keeping at least one). */
function reconfigure(cluster: Cluster, random: () => number): void {
  const leader = cluster.leader();
  if (leader === null) return;
  const current = cluster.nodes.get(leader)!.raw!.status().configurations.at(-1)!;
  const outside = idPool.filter((id) => !current.includes(id));
  const add = current.length < 2 || (outside.length > 0 && random() < 0.5);
  const next = add
    ? [...current, outside[Math.floor(random() * outside.length)]!]
    : current.filter((_, k) => k !== Math.floor(random() * current.length));
  if (next.length === 0) return;
  cluster.options.onEvent?.(`${leader} proposes configuration [${next.join(",")}]`);
  cluster.propose(leader, { kind: "reconfiguration", payload: cluster.payload("conf"), configuration: next });
}

/**
 * Up to `downMax` nodes whose absence leaves a majority up in every active configuration of every
 * node's view, so the remaining nodes are a healed majority that must make progress on their own.
 */
function minority(cluster: Cluster, downMax: number): NodeId[] {
  const views = [...cluster.nodes.values()].flatMap((n) => n.raw!.status().configurations);
  const down: NodeId[] = [];
  const ids = [...cluster.nodes.keys()].sort((a, b) => a.localeCompare(b));
  for (let k = ids.length - 1; k > 0; k--) {
    const j = Math.floor(cluster.random() * (k + 1));
    [ids[k], ids[j]] = [ids[j]!, ids[k]!];
  }
  for (const id of ids) {
    if (down.length >= downMax) break;
    const trial = [...down, id];
    const ok = views.every((conf) => conf.filter((m) => !trial.includes(m)).length > conf.length / 2);
    if (ok) down.push(id);
  }
  return down;
}

/**
 * Liveness: heal the network, restart every node, then crash up to `downMax` of them while keeping
 * a majority of every configuration up, and deliver reliably. Within livenessTicksMax ticks a leader
 * must be elected and commit a new proposal.
 */
export function liveness(cluster: Cluster, downMax = 0): void {
  cluster.groups = new Map();
  cluster.delayTicks = () => 0;
  for (const id of cluster.nodes.keys()) if (!cluster.alive(id)) cluster.restart(id);
  cluster.processAll();
  // What is still in flight may carry a configuration no node holds yet (say, entries of a leader
  // that lost them, unsynced, in a crash): deliver it all first, so that the nodes crashed below
  // are a minority of every configuration that can take effect.
  for (const m of cluster.inFlight) m.deliverAt = cluster.now;
  cluster.deliverAllNow(50);
  for (const id of minority(cluster, downMax)) cluster.crash(id);
  let target: number | null = null;
  let targetTerm: string | null = null;
  for (let tick = 0; tick < livenessTicksMax; tick++) {
    cluster.now++;
    for (const id of cluster.nodes.keys()) {
      cluster.completeSync(id, { all: true });
      cluster.tick(id);
    }
    cluster.deliverAllNow(20);
    const leader = cluster.leader();
    if (leader === null) continue;
    const status = cluster.nodes.get(leader)!.raw!.basicStatus();
    // A proposal of an earlier leadership may never commit (it needs a signature of the new term).
    if (`${leader}@${status.term}` !== targetTerm) target = null;
    if (target === null) {
      targetTerm = `${leader}@${status.term}`;
      const ok = cluster.propose(leader, { kind: "data", payload: cluster.payload("live") });
      if (ok && cluster.propose(leader, { kind: "signature", payload: cluster.payload("live-sig") })) {
        target = cluster.nodes.get(leader)!.raw!.basicStatus().lastIndex;
      }
      cluster.processAll();
    } else if (status.commit >= target) {
      return;
    }
  }
  for (const node of cluster.nodes.values()) {
    if (node.raw === null) {
      cluster.options.onEvent?.(`${node.id} down`);
      continue;
    }
    const st = node.raw.status();
    const line = `${st.id} ${st.role} term ${st.term} leader ${st.leader} commit ${st.commit} last ${st.lastIndex}`;
    const progress = [...st.progress].map(([id, p]) => `${id}:${p.state}/${p.match}/${p.next}`).join(" ");
    cluster.options.onEvent?.(`${line} configs ${JSON.stringify(st.configurations)} ${progress}`);
  }
  throw new LivenessFailure(
    `no leader committed a new proposal within ${livenessTicksMax} ticks (target ${target})`,
  );
}
