/**
 * The scenario language (etcd's datadriven style). A file is a sequence of blocks:
 *
 *   # comment lines
 *   command arg arg key=value
 *   ----
 *   expected output (messages sent, events, or what the command prints)
 *   <blank line>
 *
 * The driver checks every safety invariant after each command (the Checker runs on every Ready) and
 * liveness at the end of the file. With COTERIE_REWRITE=1 the expected output is rewritten; review
 * the diff. Commands:
 *   nodes 1 2 3 [pre-vote=false] [check-quorum=false] [election=TICKS] [heartbeat=TICKS] [canary=NAME]
 *         [defer-sync=true]        a leader does not wait for its flushes (as the node does)
 *   campaign ID | tick ID [N] | tick-all [N]
 *   propose ID data|signature [N] | propose-conf ID 1,2,3 | transfer FROM TO
 *   deliver [from=ID] [to=ID]      deliver queued messages once (what they cause is printed)
 *   drop [from=ID] [to=ID]         drop queued messages
 *   stabilize                      deliver until the network is quiet (bounded)
 *   run N                          N rounds of: tick every node, stabilize; prints only events
 *   partition 1 2 / 3 4 5 | heal | crash ID | restart ID | compact ID
 *   sync ID                        the node's oldest deferred flush returns (prints its notice)
 *   status [ID...] | log ID | liveness
 */
import { readFileSync, writeFileSync } from "node:fs";
import { type Canary, describeEntry, type NodeId } from "../../src/consensus/index.ts";
import { assert } from "../../src/util/assert.ts";
import { Cluster } from "./cluster.ts";
import { liveness } from "./random-run.ts";

type Block = { comments: string[]; command: string; expected: string[]; line: number };

export function parseScenario(text: string): Block[] {
  const lines = text.split("\n");
  const blocks: Block[] = [];
  let comments: string[] = [];
  for (let k = 0; k < lines.length; k++) {
    const line = lines[k]!;
    if (line.startsWith("#")) comments.push(line);
    else if (line.trim() !== "") {
      assert(lines[k + 1] === "----", `line ${k + 2}: expected ---- after the command`);
      const expected: string[] = [];
      let j = k + 2;
      for (; j < lines.length && lines[j] !== ""; j++) expected.push(lines[j]!);
      blocks.push({ comments, command: line, expected, line: k + 1 });
      comments = [];
      k = j;
    }
  }
  return blocks;
}

export type ScenarioOptions = { canary?: Canary };

/** Runs a scenario; returns the actual output blocks (for comparison or rewriting). */
export function runScenario(
  text: string,
  options: ScenarioOptions = {},
): { blocks: Block[]; actual: string[][] } {
  const blocks = parseScenario(text);
  const driver = new Driver(options);
  const actual: string[][] = [];
  for (const block of blocks) {
    try {
      actual.push(driver.run(block.command));
    } catch (error) {
      if (error instanceof Error) error.message = `line ${block.line} (${block.command}): ${error.message}`;
      throw error;
    }
  }
  driver.finish();
  return { blocks, actual };
}

export function renderScenario(blocks: Block[], actual: string[][]): string {
  const out: string[] = [];
  blocks.forEach((block, k) => {
    out.push(...block.comments, block.command, "----", ...(actual[k]!.length > 0 ? actual[k]! : ["ok"]), "");
  });
  return out.join("\n");
}

export function checkScenarioFile(path: string, options: ScenarioOptions = {}): string | null {
  const text = readFileSync(path, "utf8");
  const { blocks, actual } = runScenario(text, options);
  const rendered = renderScenario(blocks, actual);
  if (process.env.COTERIE_REWRITE === "1") {
    writeFileSync(path, rendered);
    return null;
  }
  return rendered === text ? null : rendered;
}

class Driver {
  cluster: Cluster | null = null;
  output: string[] = [];
  printMessages = true;
  readonly options: ScenarioOptions;
  constructor(options: ScenarioOptions) {
    this.options = options;
  }

  run(command: string): string[] {
    this.output = [];
    const [verb, ...rest] = command.trim().split(/\s+/);
    const args = rest.filter((a) => !a.includes("="));
    const named = new Map(rest.filter((a) => a.includes("=")).map((a) => a.split("=") as [string, string]));
    if (verb === "nodes") this.#nodes(args, named);
    else this.#command(verb!, args, named);
    this.cluster!.processAll();
    return this.output;
  }

  #nodes(ids: string[], named: Map<string, string>): void {
    const canary = (named.get("canary") as Canary | undefined) ?? this.options.canary;
    this.cluster = new Cluster({
      ids,
      seed: 1,
      signOnElection: false,
      deferLeaderSync: named.get("defer-sync") === "true",
      config: {
        electionTimeoutTicks: Number(named.get("election") ?? 10),
        heartbeatIntervalTicks: Number(named.get("heartbeat") ?? 1),
        preVote: named.get("pre-vote") !== "false",
        checkQuorum: named.get("check-quorum") !== "false",
        ...(canary ? { canary } : {}),
      },
      onSend: (line) => {
        if (this.printMessages) this.output.push(line);
      },
      onEvent: (line) => this.output.push(line),
    });
  }

  #command(verb: string, args: string[], named: Map<string, string>): void {
    const c = this.cluster;
    assert(c !== null, "the first command must be `nodes`");
    const id = args[0] as NodeId;
    const count = Number(args[1] ?? 1);
    switch (verb) {
      case "campaign":
        c.nodes.get(id)!.raw!.campaign();
        break;
      case "tick":
        for (let k = 0; k < count; k++) this.#tick([id]);
        break;
      case "tick-all":
        for (let k = 0; k < Number(args[0] ?? 1); k++) this.#tick([...c.nodes.keys()]);
        break;
      case "propose":
        for (let k = 0; k < Number(args[2] ?? 1); k++) {
          const ok = c.propose(id, { kind: args[1] as "data" | "signature", payload: c.payload(args[1]!) });
          if (!ok) this.output.push(`${id} refused the proposal`);
        }
        break;
      case "propose-conf":
        if (
          !c.propose(id, {
            kind: "reconfiguration",
            payload: c.payload("conf"),
            configuration: args[1]!.split(","),
          })
        ) {
          this.output.push(`${id} refused the reconfiguration`);
        }
        break;
      case "transfer":
        if (!c.transferLeadership(id, args[1]!)) this.output.push(`${id} refused to transfer`);
        break;
      default:
        this.#network(verb, args, named);
    }
  }

  /** Runs `body` printing events but not messages. */
  #quietly(body: () => void): void {
    this.printMessages = false;
    try {
      body();
    } finally {
      this.printMessages = true;
    }
  }

  #tick(ids: NodeId[]): void {
    const c = this.cluster!;
    for (const id of ids) c.tick(id);
    c.processAll();
  }

  #network(verb: string, args: string[], named: Map<string, string>): void {
    const c = this.cluster!;
    const matches = (m: { from: string; to: string }) =>
      (!named.has("from") || named.get("from") === m.from) && (!named.has("to") || named.get("to") === m.to);
    switch (verb) {
      case "deliver": {
        const due = c.inFlight.filter((f) => matches(f.message));
        c.inFlight = c.inFlight.filter((f) => !matches(f.message));
        for (const item of due) {
          c.inFlight.unshift(item);
          c.deliver(0);
        }
        c.processAll();
        break;
      }
      case "drop":
        c.inFlight = c.inFlight.filter((f) => !matches(f.message));
        break;
      case "stabilize":
        c.processAll();
        for (let round = 0; round < 100 && c.inFlight.length > 0; round++)
          this.#network("deliver", [], new Map());
        break;
      case "partition": {
        const groups = args
          .join(" ")
          .split("/")
          .map((g) => g.trim().split(/\s+/));
        c.groups = new Map(groups.flatMap((g, k) => g.map((n) => [n, k] as [string, number])));
        c.inFlight = c.inFlight.filter((f) => c.connected(f.message.from, f.message.to));
        break;
      }
      case "heal":
        c.groups = new Map();
        break;
      case "run":
        this.#quietly(() => {
          for (let k = 0; k < Number(args[0] ?? 1); k++) {
            for (const id of c.nodes.keys()) c.tick(id);
            this.#network("stabilize", [], new Map());
          }
        });
        break;
      default:
        this.#nodeCommand(verb, args);
    }
  }

  #nodeCommand(verb: string, args: string[]): void {
    const c = this.cluster!;
    const id = args[0] as NodeId;
    switch (verb) {
      case "crash":
        c.crash(id);
        c.inFlight = c.inFlight.filter((f) => f.message.to !== id);
        break;
      case "restart":
        c.restart(id);
        break;
      case "sync": {
        const flush = c.nodes.get(id)!.owedPersisted[0];
        if (flush === undefined) this.output.push(`${id} has no flush in flight`);
        else {
          this.output.push(`${id} flushed: persisted(${flush.index}, term ${flush.term})`);
          c.completeSync(id);
        }
        break;
      }
      case "compact":
        this.output.push(
          c.compact(id)
            ? `${id} compacted to ${c.nodes.get(id)!.storage.firstIndex() - 1}`
            : "nothing to compact",
        );
        break;
      case "status":
        for (const n of args.length > 0 ? args : [...c.nodes.keys()]) this.output.push(this.#status(n));
        break;
      case "log": {
        const raw = c.nodes.get(id)!.raw!;
        const st = raw.status();
        const entries = raw.entries(raw.firstIndex(), st.lastIndex + 1);
        this.output.push(`${id}: ${entries.map(describeEntry).join(" ") || "(empty)"}`);
        break;
      }
      case "liveness":
        this.finish();
        this.output.push("ok");
        break;
      default:
        throw new Error(`unknown command ${verb}`);
    }
  }

  #status(id: NodeId): string {
    const raw = this.cluster!.nodes.get(id)!.raw;
    if (raw === null) return `${id}: down`;
    const st = raw.status();
    const confs = st.configurations.map((conf) => `[${conf.join(",")}]`).join(" ");
    return `${id}: ${st.role} term ${st.term} leader ${st.leader ?? "-"} commit ${st.commit} last ${st.lastIndex} conf ${confs}`;
  }

  /** Liveness at the end of every file: heal, restart, and a leader must commit a new proposal. */
  finish(): void {
    const c = this.cluster!;
    const saved = this.output;
    this.output = [];
    liveness(c);
    this.output = saved;
  }
}
