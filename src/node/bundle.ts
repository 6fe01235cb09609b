/**
 * Governed app bundles on the host side: load a bundle (ABI v1, src/app/guest-abi.ts) into its own
 * sandbox, check its description, and turn it into an `App` whose handlers call into the sandbox.
 * The handler context crosses the boundary as host functions that act on the host's (guarded)
 * context, so the read policy of confidential tables applies to bundles exactly as to built-ins.
 */
import {
  type App,
  type ConfidentialSpec,
  checkConfidentialSpec,
  checkEndpointShape,
  type Endpoint,
  type HandlerContext,
} from "../app/index.ts";
import {
  createSandbox,
  type Sandbox,
  type SandboxLimits,
  type SandboxModule,
  validateSandboxLimits,
} from "../sandbox/index.ts";
import { CoterieError, isCoterieError } from "../util/errors.ts";
import { knowsPolicies } from "./auth.ts";
import { invoke } from "./bundle-host.ts";

export const BUNDLE_ABI = 1;

/**
 * Where a bundle's isolate runs. Served bundles default to `"process"`: a child process, so the V8
 * out-of-memory aborts isolated-vm cannot catch (#527, e.g. a Map bomb) kill the child, not the
 * node (src/sandbox/README.md). Validation loads in-process: it runs only top-level code, briefly,
 * inside the constitution's call, where a child's ~0.5 s start would eat the time limit.
 */
export type BundleIsolation = "in-process" | "process";
export const DESCRIBE_EXPORT = "coterie_app";

export type LoadedBundle = { app: App; sandbox: Sandbox; module: SandboxModule; dispose(): void };

type Description = {
  abi: number;
  name: string;
  version: string | null;
  tables: ConfidentialSpec[];
  endpoints: Array<Omit<Endpoint, "handler"> & { handler: string }>;
};

function refuse(reason: string): CoterieError {
  return new CoterieError("COTERIE_ERR_APP_BUNDLE_INVALID", reason);
}

/** Checks what `coterie_app()` returned against the module's exports and the node's policies. */
function checkDescription(d: unknown, exports: Readonly<Record<string, string>>): Description {
  if (d === null || typeof d !== "object") throw refuse("coterie_app() must return an object");
  const desc = d as Description;
  if (desc.abi !== BUNDLE_ABI)
    throw refuse(`unsupported bundle ABI ${String(desc.abi)}; this node runs ${BUNDLE_ABI}`);
  if (typeof desc.name !== "string" || desc.name === "") throw refuse("the app needs a name");
  if (!Array.isArray(desc.endpoints) || !Array.isArray(desc.tables))
    throw refuse("endpoints and tables must be arrays");
  const seen = new Set<string>();
  for (const e of desc.endpoints) {
    let route: string;
    try {
      route = checkEndpointShape(e);
    } catch (error) {
      throw refuse(isCoterieError(error) ? error.message : String(error));
    }
    if (seen.has(route)) throw refuse(`two endpoints on ${route}`);
    seen.add(route);
    if (!knowsPolicies(e.auth))
      throw refuse(`endpoint ${e.method} ${e.path}: an auth policy this node does not know`);
    if (typeof e.handler !== "string" || exports[e.handler] !== "function") {
      throw refuse(
        `endpoint ${e.method} ${e.path}: handler ${String(e.handler)} is not an exported function`,
      );
    }
  }
  for (const t of desc.tables) {
    try {
      checkConfidentialSpec(t);
    } catch (error) {
      throw refuse((error as Error).message);
    }
  }
  return desc;
}

/**
 * Loads `source` into a fresh sandbox with `limits` and returns the app it serves.
 * @throws CoterieError COTERIE_ERR_APP_BUNDLE_INVALID, COTERIE_ERR_SANDBOX_* (syntax, import, ...)
 */
export function loadBundle(
  source: string,
  limits: Partial<SandboxLimits> = {},
  filename = "app-bundle.js",
  isolation: BundleIsolation = "process",
): LoadedBundle {
  let checked: Readonly<SandboxLimits>;
  try {
    checked = validateSandboxLimits(limits);
  } catch (error) {
    throw refuse(`limits: ${(error as Error).message}`);
  }
  const sandbox = createSandbox({ limits: checked, isolation });
  try {
    const module = sandbox.loadModule(source, filename, { requiredFunctions: [DESCRIBE_EXPORT] });
    const desc = checkDescription(module.call(DESCRIBE_EXPORT, []), module.exports);
    const endpoints: Endpoint[] = desc.endpoints.map(({ handler, ...shape }) => ({
      ...shape,
      handler: (ctx: HandlerContext) => invoke(module, handler, ctx),
    }));
    const app: App = { name: desc.name, endpoints, tables: desc.tables.map(checkConfidentialSpec) };
    if (desc.version !== null && typeof desc.version === "string") app.version = desc.version;
    return { app, sandbox, module, dispose: () => sandbox.dispose() };
  } catch (error) {
    sandbox.dispose();
    throw error;
  }
}

/** Loads a bundle in a throwaway sandbox: the check behind governance's `validate_app_bundle`. */
export function validateAppBundle(
  source: string,
  limits: Partial<SandboxLimits> = {},
): { ok: true } | { ok: false; reason: string } {
  if (typeof source !== "string" || source.length === 0)
    return { ok: false, reason: "the bundle source must be non-empty text" };
  try {
    loadBundle(source, limits, "proposed-app-bundle.js", "in-process").dispose();
    return { ok: true };
  } catch (error) {
    if (isCoterieError(error)) return { ok: false, reason: `${error.code}: ${error.message}` };
    throw error;
  }
}

/** `validateAppBundle` in the shape governance's runtime takes: null when acceptable, else the reason. */
export function appBundleValidator(source: string, limits?: Partial<SandboxLimits>): string | null {
  const r = validateAppBundle(source, limits);
  return r.ok ? null : r.reason;
}
