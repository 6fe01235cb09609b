// Micro-benchmark of the node's write path without HTTP (not a test): a single-node engine over a
// temporary ledger commits private writes shaped like the suite's `POST /app/log/private` (a
// ~60-byte value under a numeric id), 256 in flight like 16 connections × 16 pipelined, with the
// node's default 10 ms signature interval. Reports CPU microseconds (user + system) per write,
// median of the rounds, of the whole process and of its main thread alone (the event loop, which
// bounds a node's throughput; the rest is V8's helper threads, libuv's pool and the commit-evidence
// worker): on a shared machine CPU per operation moves much less than wall time, so compare two
// commits by running this script from each in alternation.
// Usage: node bench/write-path.ts [rounds] [writesPerRound]
import { benchEngine } from "./engine.ts";

const rounds = Number(process.argv[2] ?? 5);
const writesPerRound = Number(process.argv[3] ?? 20_000);
const inFlight = 256;

const { engine, dispose } = await benchEngine("write-path", { uncommittedTxsMax: 200_000 });
try {
  engine.start();
  const encoder = new TextEncoder();
  let id = 1_000_000;
  const writeOne = () =>
    engine.execute(
      (tx) => {
        const n = id++;
        tx.put(
          "records",
          encoder.encode(String(n)),
          encoder.encode(`benchmark record ${n} abcdefghijklmnopqrstuvwxyz`),
        );
      },
      { reservedWrites: false },
    );
  const perWriteUs: number[] = [];
  const mainPerWriteUs: number[] = [];
  for (let r = 0; r <= rounds; r++) {
    const cpu = process.cpuUsage();
    const main = process.threadCpuUsage();
    let started = 0;
    // At most `inFlight` writes start per event-loop turn, then every writer waits for the next
    // turn, so timers, I/O and worker messages run between batches as they do in a server that
    // reads a batch of pipelined requests per turn. (Before the ninth session only the writer that
    // hit the boundary yielded and the others went on in microtasks: the loop could starve for a
    // whole round, and the commit-evidence worker's answers arrived too late to be used.)
    let startedThisTurn = 0;
    let turn: Promise<void> | null = null;
    const nextTurn = () =>
      (turn ??= new Promise((resolve) =>
        setImmediate(() => {
          turn = null;
          startedThisTurn = 0;
          resolve();
        }),
      ));
    const worker = async () => {
      while (started < writesPerRound) {
        if (startedThisTurn >= inFlight) {
          await nextTurn();
          continue;
        }
        started++;
        startedThisTurn++;
        await writeOne();
      }
    };
    await Promise.all(Array.from({ length: inFlight }, worker));
    const usedMain = process.threadCpuUsage(main);
    const used = process.cpuUsage(cpu);
    // Round 0 warms up the JIT and is not reported.
    if (r > 0) {
      perWriteUs.push((used.user + used.system) / writesPerRound);
      mainPerWriteUs.push((usedMain.user + usedMain.system) / writesPerRound);
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
  const list = (xs: number[]) => xs.map((x) => x.toFixed(1)).join(", ");
  console.log(
    `write path: ${median(perWriteUs).toFixed(1)} µs CPU per private write, ${median(mainPerWriteUs).toFixed(1)} ` +
      `on the main thread (medians of ${rounds} rounds of ${writesPerRound}; rounds: ${list(perWriteUs)}; ` +
      `main thread: ${list(mainPerWriteUs)})`,
  );
} finally {
  await dispose();
}
