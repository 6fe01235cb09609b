// The load generator as its own process: `node bench/load.ts '<LoadConfig JSON>'` runs one
// measurement and prints exactly one JSON line (a LoadResult) on stdout, then exits. Running apart
// from the suite keeps the suite's own work (timers, child-process pipes) out of the measurement.
import { validateLoadConfig } from "./load-config.ts";
import { LoadGenerator } from "./load-generator.ts";

async function main(): Promise<void> {
  const arg = process.argv[2];
  if (arg === undefined) {
    process.stderr.write("usage: node bench/load.ts '<LoadConfig JSON>'\n");
    process.exit(2);
  }
  const config = validateLoadConfig(JSON.parse(arg));
  const result = await new LoadGenerator(config).run();
  process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(0));
}

main().catch((err: Error) => {
  process.stdout.write(`${JSON.stringify({ ok: false, failure: err.message })}\n`, () => process.exit(1));
});
