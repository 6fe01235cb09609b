// Builds dist/ for the published package: Node refuses to strip types from files under
// node_modules, so an installed `coterie` must run JavaScript. Our TypeScript is bundled by
// esbuild; npm dependencies stay external (they are installed beside it).
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

await build({ ...common, entryPoints: { coterie: "src/cli/main.ts" }, outdir: "dist" });
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
console.log("dist/ built: coterie.js, app.js, client.js, client-node.js");
