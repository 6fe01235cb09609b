// Micro-benchmark of a typed put (not a test): a transaction with one `put` of a decimal key and a
// 44-byte message through `utf8` codecs, as the logging app's write handler makes, then its write
// set as the commit makes it. Two ways side by side, alternated within each round: through the
// codecs' latin1 forms (`Tx.putLatin1`, what `TypedMap.put` takes when both codecs have them), and
// through bytes (`Tx.put`, what it takes for a codec without them: UTF-8 bytes, then the store's
// latin1 strings). Reports CPU µs per transaction, median of the rounds.
// Usage: node bench/typed-put.ts [rounds=7] [transactions=200000]
import { type Codec, Store, utf8 } from "../src/kv/index.ts";

const rounds = Number(process.argv[2] ?? 7);
const transactions = Number(process.argv[3] ?? 200_000);
if (!Number.isSafeInteger(rounds) || rounds < 1) throw new RangeError("rounds must be a positive integer");
if (!Number.isSafeInteger(transactions) || transactions < 1)
  throw new RangeError("transactions must be a positive integer");

const message = "benchmark record abcdefghijklmnopqrstuvwxyz.";
const ways: Record<string, Codec<string>> = {
  "latin1 forms (Tx.putLatin1)": utf8,
  "bytes (Tx.put)": { encode: utf8.encode, decode: utf8.decode },
};
const perTxUs = new Map<string, number[]>(Object.keys(ways).map((name) => [name, []]));
for (let r = 0; r <= rounds; r++) {
  const names = Object.keys(ways);
  for (const name of r % 2 === 0 ? names : names.reverse()) {
    const codec = ways[name] as Codec<string>;
    const store = new Store();
    const cpu = process.cpuUsage();
    for (let i = 0; i < transactions; i++) {
      const tx = store.beginTx();
      tx.typed("records", codec, codec).put(String(i), message);
      tx.writeSet();
    }
    const used = process.cpuUsage(cpu);
    // Round 0 warms up the JIT and is not reported.
    if (r > 0) perTxUs.get(name)?.push((used.user + used.system) / transactions);
  }
}
const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)] as number;
for (const [name, xs] of perTxUs) {
  console.log(
    `${name.padEnd(28)} ${median(xs).toFixed(2)} µs CPU per transaction (median of ${rounds}; ${xs.map((x) => x.toFixed(2)).join(", ")})`,
  );
}
