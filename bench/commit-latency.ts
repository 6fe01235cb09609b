// Micro-benchmark (not a test): where a single-node write's commit latency goes, without HTTP. A
// single-node engine over a temporary ledger, the node's default 10 ms signature interval, one
// private write at a time with a random pause between writes, uniform in [0, 2 × pauseMs] so that
// writes do not lock to the signature timer's phase (a lightly loaded node); for each step the
// median and p90: the whole write-to-committed latency, the signature (from the timer's start to the
// entry appended: almost all of it the ECDSA sign, made on libuv's thread pool), the ledger flush
// (writev + fdatasync), and signature-appended to committed.
// `P-256` as third argument swaps the node's signing key for a P-256 one (what a node configured
// with `nodeKey.curve` = "P-256" signs with). The fourth argument is the signature interval in ms
// (default: the node's 10).
// Usage: node bench/commit-latency.ts [writes] [pauseMs] [P-384|P-256] [intervalMs]
import { generateKeyPair } from "../src/crypto/keys.ts";
import { benchEngine } from "./engine.ts";

const writes = Number(process.argv[2] ?? 200);
const pauseMs = Number(process.argv[3] ?? 7);
const curve = process.argv[4] ?? "P-384";
const intervalMs = Number(process.argv[5] ?? 10);
if (curve !== "P-384" && curve !== "P-256") throw new Error("curve: P-384 or P-256");

const { engine, ledger, replicator, dispose } = await benchEngine(
  "commit-latency",
  { signatureIntervalMs: intervalMs },
  (identity) => {
    if (curve === "P-256") identity.node = generateKeyPair("P-256");
  },
);
try {
  // Timing wrappers around the three steps (the engine reads these members at call time; the two
  // signature steps are private, hence the cast: a benchmark may look inside, the node may not).
  const signing: number[] = [];
  const flushing: number[] = [];
  const signedToCommitted: number[] = [];
  const signedAt = new Map<number, number>();
  const inside = engine as unknown as {
    startSignature(): void;
    appendSignatureEntry(seqno: number, root: Buffer, signature: Uint8Array): void;
  };
  let startedAt = 0;
  const startSignature = inside.startSignature.bind(engine);
  inside.startSignature = () => {
    if (startedAt === 0) startedAt = performance.now();
    startSignature();
  };
  const appendSignatureEntry = inside.appendSignatureEntry.bind(engine);
  inside.appendSignatureEntry = (seqno, root, signature) => {
    appendSignatureEntry(seqno, root, signature);
    signing.push(performance.now() - startedAt);
    startedAt = 0;
    signedAt.set(seqno, performance.now());
  };
  const flush = ledger.flush.bind(ledger);
  ledger.flush = () => {
    const t = performance.now();
    return flush().then(() => {
      flushing.push(performance.now() - t);
    });
  };
  const onCommit = replicator.onCommit;
  replicator.onCommit = (seqno: number) => {
    const at = signedAt.get(seqno);
    if (at !== undefined) signedToCommitted.push(performance.now() - at);
    onCommit(seqno);
  };
  engine.start();
  const total: number[] = [];
  const encoder = new TextEncoder();
  for (let i = 0; i < writes; i++) {
    await new Promise((resolve) => setTimeout(resolve, Math.random() * 2 * pauseMs));
    const t = performance.now();
    await engine.execute(
      (tx) =>
        tx.put(
          "records",
          encoder.encode(String(i)),
          encoder.encode(`benchmark record ${i} abcdefghijklmnopqrstuvwxyz`),
        ),
      { reservedWrites: false },
    );
    await engine.waitForCommit({ view: engine.view, seqno: engine.lastSeqno }, 10_000);
    total.push(performance.now() - t);
  }
  const show = (name: string, xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    const at = (q: number) => (s[Math.min(s.length - 1, Math.floor(q * s.length))] as number).toFixed(2);
    console.log(`${name.padEnd(28)} p50 ${at(0.5)} ms  p90 ${at(0.9)} ms  (n ${s.length})`);
  };
  console.log(`node signing key ${curve}, signature interval ${intervalMs} ms`);
  show("write → committed", total);
  show("signature (thread pool)", signing);
  show("ledger flush", flushing);
  show("signature → committed", signedToCommitted);
} finally {
  await dispose();
}
