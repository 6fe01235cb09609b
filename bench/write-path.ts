// Micro-benchmark of the node's write path without HTTP (not a test): a single-node engine over a
// temporary ledger commits private writes shaped like the suite's `POST /app/log/private` (a
// ~60-byte value under a numeric id), 256 in flight like 16 connections × 16 pipelined, with the
// node's default 10 ms signature interval. Reports CPU microseconds (user + system) per write,
// median of the rounds: on a shared machine CPU per operation moves much less than wall time, so
// compare two commits by running this script from each in alternation.
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
  for (let r = 0; r <= rounds; r++) {
    const cpu = process.cpuUsage();
    let started = 0;
    const worker = async () => {
      while (started < writesPerRound) {
        started++;
        await writeOne();
        // Let timers and I/O run between writes, as a server's requests would.
        if (started % inFlight === 0) await new Promise((resolve) => setImmediate(resolve));
      }
    };
    await Promise.all(Array.from({ length: inFlight }, worker));
    const used = process.cpuUsage(cpu);
    // Round 0 warms up the JIT and is not reported.
    if (r > 0) perWriteUs.push((used.user + used.system) / writesPerRound);
  }
  const sorted = [...perWriteUs].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)] as number;
  console.log(
    `write path: ${median.toFixed(1)} µs CPU per private write (median of ${rounds} rounds of ${writesPerRound}; ` +
      `rounds: ${perWriteUs.map((x) => x.toFixed(1)).join(", ")})`,
  );
} finally {
  await dispose();
}
