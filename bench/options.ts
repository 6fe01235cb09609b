// Command-line options of bench/run.ts, parsed and validated in one place.
import { isPacingGapUs, PACING_GAP_US_MAX } from "./load-config.ts";

const REPEATS_MAX = 20;
/**
 * Below Linux's ephemeral range (32768-60999 by default): a port inside it can be taken for a
 * moment by any outgoing connection — e.g. one of the generator's own — and a target then fails to
 * bind it mid-run.
 */
export const PORT_BASE_DEFAULT = 24100;

const RECORDS_MAX = 10_000_000;

export type Options = {
  quick: boolean;
  repeats: number;
  only: string | null;
  portBase: number;
  /** Records the footprint fill writes (default: 1,000,000 full, 20,000 quick). */
  records: number | null;
  /** Open-loop points: the pacer's least gap in µs (bench/pacer.ts); null: the generator's default. */
  pacingGapUs: number | null;
};

/** Parses argv (without node and script); throws TypeError/RangeError on bad input. */
export function parseOptions(argv: readonly string[]): Options {
  const options: Options = {
    quick: false,
    repeats: 0,
    only: null,
    portBase: PORT_BASE_DEFAULT,
    records: null,
    pacingGapUs: null,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new TypeError(`${arg} needs a value`);
      return v;
    };
    if (arg === "--quick") options.quick = true;
    else if (arg === "--repeat") options.repeats = Number(value());
    else if (arg === "--only") options.only = value();
    else if (arg === "--port-base") options.portBase = Number(value());
    else if (arg === "--records") options.records = Number(value());
    else if (arg === "--pacing-gap-us") options.pacingGapUs = Number(value());
    else
      throw new TypeError(
        `unknown argument ${arg}; usage: run.ts [--quick] [--repeat N] [--only TEXT] [--port-base P] [--records N] [--pacing-gap-us G]`,
      );
  }
  if (options.repeats === 0) options.repeats = options.quick ? 1 : 3;
  if (!(Number.isInteger(options.repeats) && options.repeats >= 1 && options.repeats <= REPEATS_MAX)) {
    throw new RangeError(`--repeat must be an integer in [1, ${REPEATS_MAX}]`);
  }
  if (!(Number.isInteger(options.portBase) && options.portBase >= 1024 && options.portBase <= 65000)) {
    throw new RangeError("--port-base must be an integer in [1024, 65000]");
  }
  if (
    options.records !== null &&
    !(Number.isInteger(options.records) && options.records >= 1000 && options.records <= RECORDS_MAX)
  ) {
    throw new RangeError(`--records must be an integer in [1000, ${RECORDS_MAX}]`);
  }
  if (options.pacingGapUs !== null && !isPacingGapUs(options.pacingGapUs)) {
    throw new RangeError(`--pacing-gap-us must be an integer in [0, ${PACING_GAP_US_MAX}]`);
  }
  return options;
}
