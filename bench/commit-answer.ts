// Micro-benchmark of a commit answer's body (not a test): what `?wait_for_commit=true` sends once a
// write is committed, `{ transaction_id, status, receipt, response }`, made the way the node did
// before the sixteenth session (the receipt object, then `JSON.stringify` of the answer) and the way
// it does now (`Engine.receiptText` and `commitAnswerText`: text, the signature's part serialised
// once per signature), each then turned into the bytes the socket gets. A single-node engine
// commits `writes` private writes with a signature every 110 (what a round carried at saturation on
// three nodes, docs/performance.md), then both ways answer the last 5,000 in turn, alternated
// within each round. Reports CPU microseconds per answer (whole process: V8's collector included),
// median of the rounds.
// Usage: node bench/commit-answer.ts [rounds] [writes]
import { commitAnswerText } from "../src/node/app-runner.ts";
import type { TxId } from "../src/node/engine.ts";
import { benchEngine } from "./engine.ts";

const rounds = Number(process.argv[2] ?? 7);
const writes = Number(process.argv[3] ?? 22_000);
const answered = 5_000;

const { engine, dispose } = await benchEngine("commit-answer", {
  uncommittedTxsMax: writes + 1_000,
  signatureIntervalTxs: 110,
  signatureIntervalMs: 60_000,
});
try {
  engine.start();
  const encoder = new TextEncoder();
  const ids: TxId[] = [];
  for (let n = 0; n < writes; n += 256) {
    const batch = Array.from({ length: Math.min(256, writes - n) }, (_, i) =>
      engine.execute(
        (tx) => tx.put("records", encoder.encode(String(n + i)), encoder.encode(`benchmark record ${n + i}`)),
        { reservedWrites: false },
      ),
    );
    for (const { txId } of await Promise.all(batch)) if (txId !== null) ids.push(txId);
  }
  engine.appendSignature();
  const last = ids.at(-1) as TxId;
  if ((await engine.waitForCommit(last, 10_000)) !== "Committed") throw new Error("writes did not commit");
  const asked = ids.slice(-answered);
  const ways: Record<string, (id: TxId) => Buffer> = {
    "receipt object, JSON.stringify": (id) =>
      Buffer.from(
        JSON.stringify({
          transaction_id: `${id.view}.${id.seqno}`,
          status: "Committed",
          receipt: engine.receipt(id),
          response: null,
        }),
      ),
    "receipt text, commitAnswerText": (id) =>
      Buffer.from(commitAnswerText(`${id.view}.${id.seqno}`, engine.receiptText(id), null)),
  };
  const names = Object.keys(ways);
  const [a, b] = names.map((name) => (ways[name] as (id: TxId) => Buffer)(last).toString());
  if (a !== b) throw new Error("the two ways answer differently");
  const perAnswerUs = new Map<string, number[]>(names.map((name) => [name, []]));
  for (let r = 0; r <= rounds; r++) {
    for (const name of r % 2 === 0 ? names : [...names].reverse()) {
      const way = ways[name] as (id: TxId) => Buffer;
      const cpu = process.cpuUsage();
      let bytes = 0;
      for (const id of asked) bytes += way(id).length;
      const used = process.cpuUsage(cpu);
      // Round 0 warms up the JIT and is not reported.
      if (r > 0) perAnswerUs.get(name)?.push((used.user + used.system) / asked.length);
      if (r === rounds && name === names[0]) console.log(`answer: ${Math.round(bytes / asked.length)} bytes`);
    }
  }
  const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)] as number;
  for (const [name, xs] of perAnswerUs) {
    console.log(
      `${name}: ${median(xs).toFixed(2)} µs CPU per answer (median of ${rounds}; ${xs.map((x) => x.toFixed(2)).join(", ")})`,
    );
  }
} finally {
  await dispose();
}
