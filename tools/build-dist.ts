// Builds dist/ for the published package: Node refuses to strip types from files under
// node_modules, so an installed `coterie` must run JavaScript. Our TypeScript is bundled by
// esbuild; npm dependencies stay external (they are installed beside it).
import { cpSync, readdirSync } from "node:fs";
import { build } from "esbuild";

const common = {
  bundle: true,
  platform: "node" as const,
  format: "esm" as const,
  target: "node24",
  packages: "external" as const,
  sourcemap: true,
  logLevel: "warning" as const,
};

// child.js: the process-isolated sandbox's child, started beside the bundle (src/sandbox/remote.ts).
await build({
  ...common,
  entryPoints: { coterie: "src/cli/main.ts", child: "src/sandbox/child.ts" },
  outdir: "dist",
});
await build({
  ...common,
  entryPoints: {
    app: "src/app/index.ts",
    client: "src/client/index.ts",
    "client-node": "src/client/node.ts",
  },
  outdir: "dist",
  // client-node.js and client.js share one copy of the SDK (so `instanceof CoterieClientError` holds).
  splitting: true,
  chunkNames: "chunks/[name]-[hash]",
});
// The shipped constitutions are read as source text at run time (src/governance/constitutions).
for (const name of readdirSync("src/governance/constitutions").filter((n) => n.endsWith(".js"))) {
  cpSync(`src/governance/constitutions/${name}`, `dist/constitutions/${name}`);
}
console.log("dist/ built: coterie.js, child.js, app.js, client.js, client-node.js");
