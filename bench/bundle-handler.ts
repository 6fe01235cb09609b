/**
 * The handler alone, in process: the supply-chain app's `POST /orders` handler run built in, as a
 * bundle in an in-process sandbox, and as a bundle in a child-process sandbox (what nodes serve), each against a fresh guarded transaction of an in-memory Store that
 * is then committed (no HTTP, no ledger). Isolates what the sandbox boundary costs per write;
 * bench/bundle-vs-builtin.ts measures the whole node. Rounds alternate; prints the median ratio.
 *
 *   node bench/bundle-handler.ts [--writes 20000] [--rounds 5]
 */
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import supplyChain from "../apps/supply-chain/index.ts";
import { type App, guardTx, type HandlerContext } from "../src/app/index.ts";
import { buildAppBundle } from "../src/cli/app.ts";
import { Store } from "../src/kv/index.ts";
import { appCrypto } from "../src/node/app-runner.ts";
import { loadBundle } from "../src/node/bundle.ts";

const { values } = parseArgs({ options: { writes: { type: "string" }, rounds: { type: "string" } } });
const writes = Number(values.writes ?? 20_000);
const rounds = Number(values.rounds ?? 5);
const root = resolve(import.meta.dirname, "..");
const caller = { policy: "user_cert" as const, id: "u", data: { party: "retailer-x", role: "retailer" } };

function run(app: App, label: string, round: number): number {
  const endpoint = app.endpoints.find((e) => e.method === "POST" && e.path === "/orders");
  if (endpoint === undefined) throw new Error("no POST /orders");
  const store = new Store();
  const started = performance.now();
  for (let i = 0; i < writes; i++) {
    const body = {
      supplier: "supplier-a",
      ref: `r${round}-${i}`,
      items: [{ sku: "bolt", qty: 1 }],
      total: 1,
    };
    const bytes = new TextEncoder().encode(JSON.stringify(body));
    const tx = store.beginTx({ reservedWrites: false });
    const ctx: HandlerContext = {
      request: {
        method: "POST",
        path: "/app/orders",
        params: {},
        query: new URLSearchParams(),
        headers: {},
        body: bytes,
        json: () => JSON.parse(new TextDecoder().decode(bytes)),
      },
      caller,
      readerParties: ["retailer-x"],
      tx: guardTx(tx, app.tables ?? [], ["retailer-x"]),
      setClaimsDigest() {},
      historical: { committedSeqno: 0, writes: () => [], mapWrites: () => [] },
      crypto: appCrypto,
      untrustedTime: () => Date.now(),
    };
    endpoint.handler(ctx);
    if (store.commit(tx).status !== "ok") throw new Error("commit failed");
  }
  const rate = writes / ((performance.now() - started) / 1000);
  console.log(`${label.padEnd(10)} ${rate.toFixed(0).padStart(8)} handler runs/s`);
  return rate;
}

const source = await buildAppBundle(join(root, "apps/supply-chain"));
const inProcess = loadBundle(source, {}, "bench.js", "in-process");
const child = loadBundle(source, {}, "bench.js", "process");
const rates: Record<string, number[]> = { "built-in": [], "in-process": [], process: [] };
for (let r = 0; r < rounds; r++) {
  rates["built-in"]?.push(run(supplyChain, "built-in", r));
  rates["in-process"]?.push(run(inProcess.app, "in-process", r));
  rates.process?.push(run(child.app, "process", r));
}
inProcess.dispose();
child.dispose();
const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)] as number;
const base = median(rates["built-in"] ?? []);
for (const [label, xs] of Object.entries(rates)) {
  console.log(
    `median ${label.padEnd(10)} ${median(xs).toFixed(0).padStart(7)}/s  ratio to built-in ${(median(xs) / base).toFixed(3)}`,
  );
}
