// esbuild bundles of the browser-safe SDK: the SDK on its own (its size is what an app pays) and
// the test page. Both are checked for Node polyfills: nothing from node:, and none of the npm
// packages that bundlers use to fake Node built-ins.
import { gzipSync } from "node:zlib";
import { build, type Metafile } from "esbuild";

export type Bundle = {
  code: string;
  bytes: number;
  gzipBytes: number;
  inputs: string[];
  polyfills: string[];
};

/** npm packages that exist to stand in for Node built-ins in browsers. */
const POLYFILLS =
  /(^|\/)node_modules\/(buffer|process|events|util|assert|stream-browserify|readable-stream|crypto-browserify|path-browserify|os-browserify|browserify-[^/]+|node-stdlib-browser|vm-browserify|string_decoder|timers-browserify|url)\//;

export async function bundle(entry: string): Promise<Bundle> {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    minify: true,
    write: false,
    metafile: true,
    logLevel: "silent",
  });
  const file = result.outputFiles[0];
  if (file === undefined) throw new Error("esbuild produced no output");
  const inputs = Object.keys((result.metafile as Metafile).inputs);
  return {
    code: file.text,
    bytes: file.contents.length,
    gzipBytes: gzipSync(file.contents).length,
    inputs,
    polyfills: inputs.filter((i) => i.startsWith("node:") || POLYFILLS.test(i)),
  };
}

/** Bytes per npm package (or "src") in a bundle's inputs, largest first. */
export async function sizeByPackage(entry: string): Promise<Record<string, number>> {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    format: "esm",
    platform: "browser",
    minify: true,
    write: false,
    metafile: true,
    logLevel: "silent",
  });
  const bytes: Record<string, number> = {};
  const output = Object.values((result.metafile as Metafile).outputs)[0];
  for (const [input, { bytesInOutput }] of Object.entries(output?.inputs ?? {})) {
    const m = /node_modules\/((@[^/]+\/)?[^/]+)/.exec(input);
    const key = m ? (m[1] as string) : "src";
    bytes[key] = (bytes[key] ?? 0) + bytesInOutput;
  }
  return Object.fromEntries(Object.entries(bytes).sort((a, b) => b[1] - a[1]));
}
