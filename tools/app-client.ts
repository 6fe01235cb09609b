// `coterie app client`: writes the TypeScript source of a typed client for an app, from its
// OpenAPI document — a file, or a running service's `GET /app/openapi.json` (pinned with
// --service-cert, authenticated with --cert/--key). The integrator wires this into `coterie`.
//
//   node tools/app-client.ts (--openapi FILE | --url URL --service-cert PEM [--cert PEM --key PEM])
//        [--out FILE] [--import-from MODULE] [--factory NAME]
import { readFileSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { generateAppClient } from "../src/client/codegen.ts";
import { createNodeClient } from "../src/client/node.ts";

const usage =
  "usage: node tools/app-client.ts (--openapi FILE | --url URL --service-cert PEM [--cert PEM --key PEM]) [--out FILE] [--import-from MODULE] [--factory NAME]";

async function loadDocument(values: Record<string, string | undefined>): Promise<unknown> {
  if (values.openapi !== undefined) return JSON.parse(readFileSync(values.openapi, "utf8"));
  if (values.url === undefined || values["service-cert"] === undefined) throw new Error(usage);
  const read = (p: string | undefined) => (p === undefined ? undefined : readFileSync(p, "utf8"));
  const options = { url: values.url, serviceCert: read(values["service-cert"]) as string };
  const cert = read(values.cert);
  const key = read(values.key);
  const client = await createNodeClient(cert && key ? { ...options, cert, key } : options);
  try {
    return await client.get("/app/openapi.json");
  } finally {
    await client.close();
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      openapi: { type: "string" },
      url: { type: "string" },
      "service-cert": { type: "string" },
      cert: { type: "string" },
      key: { type: "string" },
      out: { type: "string" },
      "import-from": { type: "string" },
      factory: { type: "string" },
    },
  });
  const options: Parameters<typeof generateAppClient>[1] = {};
  if (values["import-from"] !== undefined) options.importFrom = values["import-from"];
  if (values.factory !== undefined) options.factoryName = values.factory;
  const source = generateAppClient(await loadDocument(values), options);
  if (values.out === undefined) process.stdout.write(source);
  else writeFileSync(values.out, source);
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(`app-client: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  },
);
