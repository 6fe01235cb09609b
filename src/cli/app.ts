/**
 * `coterie app build DIR [--out FILE]`: bundles the app in DIR (its `index.ts` default export, a
 * `defineApp`) into one self-contained ES module for the sandbox, with esbuild. Imports of the app
 * API (`src/app/index.ts`, or the bare name `coterie/app`) are bound to the in-sandbox API
 * (src/app/guest.ts), and the module exports the bundle ABI v1 (src/app/guest-abi.ts). The built
 * bundle is then loaded once here, exactly as a node would, so a broken app fails at build time.
 *
 * `coterie app deploy DIR|FILE [--limits JSON] <gov options>`: proposes `set_app` { source,
 * limits } signed by a member, through `coterie gov propose` (same options and output).
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { build, type Plugin } from "esbuild";
import { endpointsMax } from "../app/index.ts";
import { loadBundle } from "../node/bundle.ts";

/**
 * The package root: `../..` from src/cli in a checkout, `..` from dist/ in an installed package
 * (found by its package.json rather than a fixed depth, which broke `app build` once installed).
 */
function packageRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const manifest = join(dir, "package.json");
    if (
      existsSync(manifest) &&
      (JSON.parse(readFileSync(manifest, "utf8")) as { name?: string }).name === "coterie"
    ) {
      return dir;
    }
    if (dirname(dir) === dir) throw new Error(`no coterie package.json above ${from}`);
  }
}

const root = packageRoot(import.meta.dirname);
const appApi = join(root, "src/app/index.ts");
const guestApi = join(root, "src/app/guest.ts");

/** Sends every import of the app API to the in-sandbox API. */
const guestApiPlugin: Plugin = {
  name: "coterie-guest-api",
  setup(b) {
    b.onResolve({ filter: /^coterie\/app$/ }, () => ({ path: guestApi }));
    b.onResolve({ filter: /app\/index\.ts$/ }, (args) => {
      const target = resolve(args.resolveDir, args.path);
      return target === appApi ? { path: guestApi } : undefined;
    });
  },
};

function entrySource(appEntry: string): string {
  const lines = [
    `import app from ${JSON.stringify(appEntry)};`,
    `import { bundleExports } from ${JSON.stringify(join(root, "src/app/guest-abi.ts"))};`,
    "const x = bundleExports(app);",
    "export const coterie_app = x.coterie_app;",
  ];
  for (let i = 0; i < endpointsMax; i++) lines.push(`export const endpoint_${i} = x.endpoint_${i};`);
  return lines.join("\n");
}

/** Bundles the app whose entry is `DIR/index.ts` (or a file path) and returns the module source. */
export async function buildAppBundle(dirOrFile: string): Promise<string> {
  const full = resolve(dirOrFile);
  const appEntry = full.endsWith(".ts") || full.endsWith(".js") ? full : join(full, "index.ts");
  const out = await build({
    stdin: {
      contents: entrySource(appEntry),
      resolveDir: dirname(appEntry),
      sourcefile: "coterie-bundle-entry.js",
      loader: "js",
    },
    bundle: true,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    write: false,
    legalComments: "none",
    plugins: [guestApiPlugin],
    logLevel: "silent",
  });
  const file = out.outputFiles[0];
  if (file === undefined) throw new Error("esbuild produced no output");
  const source = file.text;
  loadBundle(source, {}, "built-app-bundle.js", "in-process").dispose(); // the node's own checks, at build time
  return source;
}

export const appUsage = `usage: coterie app <command>
  build DIR [--out FILE]        bundle the app in DIR (DIR/index.ts) into workspace/bundles/<DIR name>.bundle.js
  deploy DIR|FILE [--limits JSON] --service-cert PEM --cert PEM (--key PEM | --signer-command CMD) [--url URL]
                                propose set_app with the bundle (built first when given a DIR);
                                members then vote with coterie gov vote`;

/** Reads `--NAME VALUE` out of `argv`, returning the value and the other arguments. */
function takeOption(argv: string[], name: string): [string | undefined, string[]] {
  const i = argv.indexOf(`--${name}`);
  if (i < 0) return [undefined, argv];
  return [argv[i + 1], [...argv.slice(0, i), ...argv.slice(i + 2)]];
}

export async function runApp(argv: string[]): Promise<number> {
  const [command, target, ...rest] = argv;
  if (command === undefined || command === "--help" || command === "-h") {
    console.log(appUsage);
    return command === undefined ? 2 : 0;
  }
  if (target === undefined) throw new Error(`missing DIR\n${appUsage}`);
  if (command === "build") {
    const [out] = takeOption(rest, "out");
    const source = await buildAppBundle(target);
    const file =
      out ??
      resolve("workspace", "bundles", `${basename(resolve(target)).replace(/\.(ts|js)$/, "")}.bundle.js`);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, source);
    console.log(`wrote ${file} (${Buffer.byteLength(source)} bytes)`);
    return 0;
  }
  if (command === "deploy") {
    const [limitsText, govArgs] = takeOption(rest, "limits");
    const file = await writeProposal(target, limitsText);
    // Imported here: gov.ts imports main.ts, whose import runs the command (fine from the CLI only).
    const { runGov } = await import("./gov.ts");
    return runGov(["propose", file, ...govArgs]);
  }
  throw new Error(`unknown app command: ${command}\n${appUsage}`);
}

/** The `set_app` proposal for a bundle file or an app directory (built first), in a temp file. */
export async function writeProposal(target: string, limitsText: string | undefined): Promise<string> {
  const source = target.endsWith(".js") ? readFileSync(target, "utf8") : await buildAppBundle(target);
  const args: { source: string; limits?: unknown } = { source };
  if (limitsText !== undefined) args.limits = JSON.parse(limitsText);
  const file = join(mkdtempSync(join(tmpdir(), "coterie-deploy-")), "set_app.json");
  writeFileSync(file, JSON.stringify({ actions: [{ name: "set_app", args }] }));
  return file;
}
