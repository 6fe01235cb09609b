// Micro-benchmark (not a test): what one root signature costs with a P-384 node key against a P-256
// one (config `nodeKey.curve`, docs/decisions/node-key-curve.md), measured the ways the node and
// the verifiers use the key: `signP1363` in place (node:crypto: bootstrap, a new primary's first
// signature, close), `signP1363Async` (WebCrypto on libuv's thread pool: the periodic signature)
// with the CPU it takes on every thread, and `verifyP1363` (ledger verification). The curves
// alternate in `rounds` rounds of `calls` calls each; medians per call are printed, then the
// P-384 / P-256 ratios.
// Usage: node bench/sign-curves.ts [rounds] [calls]
import { cpuUsage } from "node:process";
import { type Curve, generateKeyPair, signP1363, signP1363Async, verifyP1363 } from "../src/crypto/keys.ts";
import { signedRootMessage } from "../src/crypto/receipt.ts";

const rounds = Number(process.argv[2] ?? 5);
const calls = Number(process.argv[3] ?? 400);
if (!(rounds >= 1 && rounds <= 100 && calls >= 1 && calls <= 100_000)) throw new RangeError("rounds calls");

const message = signedRootMessage(new Uint8Array(32).fill(7), 2, 1000);
const curves: Curve[] = ["P-384", "P-256"];
const keys = Object.fromEntries(curves.map((c) => [c, generateKeyPair(c)])) as Record<
  Curve,
  ReturnType<typeof generateKeyPair>
>;
type Row = { syncMs: number; asyncWallMs: number; asyncCpuMs: number; verifyMs: number };
const samples: Record<Curve, Row[]> = { "P-384": [], "P-256": [] };

const cpuMs = () => {
  const u = cpuUsage();
  return (u.user + u.system) / 1000;
};

async function round(curve: Curve): Promise<Row> {
  const { privateKey, publicKey } = keys[curve];
  let t = performance.now();
  let signature: Uint8Array = new Uint8Array();
  for (let i = 0; i < calls; i++) signature = signP1363(privateKey, message);
  const syncMs = (performance.now() - t) / calls;
  await signP1363Async(privateKey, message); // the CryptoKey is made once and cached
  t = performance.now();
  const cpu = cpuMs();
  for (let i = 0; i < calls; i++) await signP1363Async(privateKey, message);
  const asyncWallMs = (performance.now() - t) / calls;
  const asyncCpuMs = (cpuMs() - cpu) / calls;
  t = performance.now();
  for (let i = 0; i < calls; i++) if (!verifyP1363(publicKey, message, signature)) throw new Error("verify");
  const verifyMs = (performance.now() - t) / calls;
  return { syncMs, asyncWallMs, asyncCpuMs, verifyMs };
}

for (let r = 0; r < rounds; r++) {
  for (const curve of r % 2 === 0 ? curves : [...curves].reverse()) samples[curve].push(await round(curve));
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
};
const fields: (keyof Row)[] = ["syncMs", "asyncWallMs", "asyncCpuMs", "verifyMs"];
const medians = Object.fromEntries(
  curves.map((c) => [c, Object.fromEntries(fields.map((f) => [f, median(samples[c].map((s) => s[f]))]))]),
) as Record<Curve, Row>;
console.log(`# ${rounds} rounds × ${calls} calls, curves alternated; medians in ms per call`);
console.log(`| | ${fields.join(" | ")} |`);
console.log(`|---|${fields.map(() => "---:").join("|")}|`);
for (const c of curves) console.log(`| ${c} | ${fields.map((f) => medians[c][f].toFixed(3)).join(" | ")} |`);
console.log(
  `| P-384 / P-256 | ${fields.map((f) => (medians["P-384"][f] / medians["P-256"][f]).toFixed(1)).join(" | ")} |`,
);
