// Every process the suite starts goes through here: each child leads its own process group, so
// stopping it also stops anything it spawned, and `stopAll` proves the groups are empty
// afterwards. The runner calls `killAllSync` from its exit handler so Ctrl-C, an uncaught error
// or a plain exit never leave a server behind.
import { type ChildProcess, spawn } from "node:child_process";

/** Lines of output kept per child, for error messages (a bound on memory). */
const OUTPUT_LINES_MAX = 40;
const STOP_GRACE_MS = 3000;

export type Child = {
  name: string;
  process: ChildProcess;
  /** The last OUTPUT_LINES_MAX lines of stdout+stderr. */
  tail: string[];
  exited: Promise<number | null>;
};

function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

export class ProcessGroup {
  private readonly children = new Set<Child>();
  /** Set once cleanup begins: no new process may start after that. */
  private closing = false;

  /** Starts `command` in a new process group; output is captured into `tail` and line listeners. */
  spawn(name: string, command: string, args: readonly string[], env?: NodeJS.ProcessEnv): Child {
    if (this.closing) throw new Error(`not starting ${name}: shutting down`);
    const proc = spawn(command, args, {
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
      env: env ?? process.env,
    });
    const child: Child = {
      name,
      process: proc,
      tail: [],
      exited: new Promise((resolve) => proc.once("exit", (code) => resolve(code))),
    };
    const onData = (chunk: Buffer) => {
      for (const line of chunk.toString("utf8").split("\n")) {
        if (line.length === 0) continue;
        child.tail.push(line.slice(0, 500));
        if (child.tail.length > OUTPUT_LINES_MAX) child.tail.shift();
      }
    };
    proc.stdout?.on("data", onData);
    proc.stderr?.on("data", onData);
    proc.once("error", (err) => child.tail.push(`spawn error: ${err.message}`));
    this.children.add(child);
    void child.exited.then(() => {
      if (proc.pid === undefined || !groupAlive(proc.pid)) this.children.delete(child);
    });
    return child;
  }

  /** Resolves with the first output line matching `pattern`; rejects on exit or timeout. */
  waitForLine(child: Child, pattern: RegExp, timeoutMs: number): Promise<string> {
    return new Promise((resolve, reject) => {
      const found = child.tail.find((l) => pattern.test(l));
      if (found !== undefined) return resolve(found);
      const onData = (chunk: Buffer) => {
        const line = chunk
          .toString("utf8")
          .split("\n")
          .find((l) => pattern.test(l));
        if (line !== undefined) done(() => resolve(line));
      };
      const timer = setTimeout(
        () => done(() => reject(new Error(`${child.name}: no ${pattern} within ${timeoutMs} ms`))),
        timeoutMs,
      );
      const onExit = (code: number | null) =>
        done(() => reject(new Error(`${child.name} exited (${code}) before ready`)));
      const done = (then: () => void) => {
        clearTimeout(timer);
        child.process.stdout?.off("data", onData);
        child.process.stderr?.off("data", onData);
        child.process.off("exit", onExit);
        then();
      };
      child.process.stdout?.on("data", onData);
      child.process.stderr?.on("data", onData);
      child.process.once("exit", onExit);
    });
  }

  /** SIGTERM to the child's group, SIGKILL after a grace period; resolves when the group is gone. */
  async stop(child: Child): Promise<void> {
    const pid = child.process.pid;
    this.children.delete(child);
    if (pid === undefined) return;
    signalGroup(pid, "SIGTERM");
    const deadline = Date.now() + STOP_GRACE_MS;
    while (groupAlive(pid) && Date.now() < deadline) await sleep(50);
    if (groupAlive(pid)) signalGroup(pid, "SIGKILL");
    for (let i = 0; i < 40 && groupAlive(pid); i++) await sleep(50);
    if (groupAlive(pid)) throw new Error(`process group ${pid} (${child.name}) survived SIGKILL`);
  }

  /** Stops every child still known (`final`: and refuses new ones); returns any problems. */
  async stopAll(final = false): Promise<string[]> {
    if (final) this.closing = true;
    const problems: string[] = [];
    for (const child of [...this.children]) {
      await this.stop(child).catch((err: Error) => problems.push(err.message));
    }
    return problems;
  }

  /** For process 'exit' handlers, where nothing asynchronous runs: SIGKILL every group now. */
  killAllSync(): void {
    this.closing = true;
    for (const child of this.children)
      if (child.process.pid !== undefined) signalGroup(child.process.pid, "SIGKILL");
    this.children.clear();
  }

  get running(): number {
    return this.children.size;
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
