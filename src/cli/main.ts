#!/usr/bin/env node
/**
 * The `coterie` command. Subcommands:
 *   sandbox [--workspace DIR] [--port N] [--app NAME|PATH]   a local one-node service, ready to use
 *   start --config FILE [--app NAME|PATH]                      a node from a configuration file
 *   node join --target URL --config FILE [--service-cert PEM]  a node that joins an existing service
 *   sandbox --nodes N                                          a local N-node network (N processes)
 *   ledger verify DIR [--service-cert PEM] [--snapshot FILE]   re-check a whole ledger offline
 *   receipt verify FILE --service-cert PEM                     check one receipt offline
 *   keygen --name NAME [--out DIR]                             a member or user key and certificate
 *   app build DIR | deploy DIR|FILE ...                        bundle an app; propose it (src/cli/app.ts)
 *   gov propose|vote|withdraw|list|show|ack|audit ...          governance (src/cli/gov.ts)
 *   recover choose|start|decrypt-share|submit-share ...       disaster recovery (src/cli/recover.ts)
 * Exit codes: 0 success, 1 verification failed or bad input, 2 usage error.
 */
import { parseArgs } from "node:util";
import { isCoterieError } from "../util/errors.ts";
import { runApp } from "./app.ts";
import { runGov } from "./gov.ts";
import { runKeygen, runLedgerVerify, runReceiptVerify } from "./offline.ts";
import { runRecover } from "./recover.ts";
import { runNodeJoin, runSandbox, runStart } from "./serve.ts";

const usage = `usage: coterie <command>
  sandbox [--workspace DIR] [--port N] [--app NAME|PATH] [--nodes N]
  start --config FILE [--app NAME|PATH]
  node join --target URL --config FILE [--service-cert PEM] [--app NAME|PATH]
  ledger verify DIR [--service-cert PEM] [--snapshot FILE]
  receipt verify FILE --service-cert PEM
  keygen --name NAME [--out DIR]
  gov propose|vote|withdraw|list|show|ack|audit ...   (coterie gov --help)
  app build DIR | deploy DIR|FILE ...                 (coterie app --help)
  recover choose|start|decrypt-share|submit-share ... (disaster recovery, src/cli/recover.ts)`;

export class UsageError extends Error {
  override name = "UsageError";
}

async function main(argv: string[]): Promise<number> {
  if (argv[0] === "gov") return runGov(argv.slice(1));
  if (argv[0] === "app") return runApp(argv.slice(1));
  if (argv[0] === "recover") return runRecover(argv.slice(1));
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      workspace: { type: "string" },
      port: { type: "string" },
      app: { type: "string" },
      config: { type: "string" },
      nodes: { type: "string" },
      target: { type: "string" },
      "service-cert": { type: "string" },
      snapshot: { type: "string" },
      name: { type: "string" },
      out: { type: "string" },
      json: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  const [command, sub, arg] = positionals;
  if (values.help || command === undefined) {
    console.log(usage);
    return command === undefined && !values.help ? 2 : 0;
  }
  if (command === "node" && sub === "join") return runNodeJoin(values);
  switch (`${command}${sub === "verify" ? " verify" : ""}`) {
    case "sandbox":
      return runSandbox(values);
    case "start":
      return runStart(values);
    case "ledger verify":
      return runLedgerVerify(arg, values);
    case "receipt verify":
      return runReceiptVerify(arg, values);
    case "keygen":
      return runKeygen(values);
    default:
      throw new UsageError(`unknown command: ${positionals.join(" ")}`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== -1) process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      console.error(`coterie: ${(error as Error).message}\n${usage}`);
      process.exitCode = 2;
    } else if (isCoterieError(error)) {
      console.error(`coterie: ${error.code}: ${error.message}`);
      process.exitCode = 1;
    } else {
      console.error(error);
      process.exitCode = 1;
    }
  },
);
