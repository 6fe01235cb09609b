// Micro-benchmark (not a test): what creating the error of a refused request costs, 20 frames
// deep as in a handler: a `CoterieError` (which captures no stack, src/util/errors.ts) against a
// plain `Error` with the same message (which does, Error.stackTraceLimit frames). The two
// alternate in `rounds` rounds of `calls` calls each; medians per call are printed, then the ratio.
// Usage: node bench/error-cost.ts [rounds] [calls]
import { CoterieError } from "../src/util/errors.ts";

const rounds = Number(process.argv[2] ?? 5);
const calls = Number(process.argv[3] ?? 100_000);
if (!(rounds >= 1 && rounds <= 100 && calls >= 1 && calls <= 10_000_000))
  throw new RangeError("rounds calls");

const message = "no private message with id 12345";
const deep = (n: number, make: () => Error): Error => (n === 0 ? make() : deep(n - 1, make));
const kinds: Record<string, () => Error> = {
  CoterieError: () => new CoterieError("COTERIE_ERR_NOT_FOUND", message),
  "Error (with stack)": () => new Error(message),
};

function perCallUs(make: () => Error): number {
  let sink = 0;
  const t = performance.now();
  for (let i = 0; i < calls; i++) sink += deep(20, make).message.length;
  if (sink === 0) throw new Error("unreachable");
  return ((performance.now() - t) * 1000) / calls;
}

const samples: Record<string, number[]> = Object.fromEntries(Object.keys(kinds).map((k) => [k, []]));
for (const make of Object.values(kinds)) perCallUs(make); // warm both up
for (let r = 0; r < rounds; r++)
  for (const [name, make] of Object.entries(kinds)) samples[name]?.push(perCallUs(make));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
for (const [name, xs] of Object.entries(samples))
  console.log(`${name.padEnd(20)} ${median(xs).toFixed(2)} µs per error`);
const [ours, plain] = Object.values(samples).map(median) as [number, number];
console.log(`plain Error / CoterieError: ${(plain / ours).toFixed(1)}×`);
