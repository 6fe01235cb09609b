/** Public surface of src/sandbox. Nothing from isolated-vm is exported. */
export type { SandboxLimits } from "./limits.ts";
export { sandboxLimitsDefault, validateSandboxLimits } from "./limits.ts";
export type { CreateSandboxParameters } from "./sandbox.ts";
export { createSandbox } from "./sandbox.ts";
export type {
  HostFunction,
  HostFunctions,
  JsonValue,
  LoadModuleOptions,
  Sandbox,
  SandboxExports,
  SandboxModule,
  SandboxStats,
} from "./types.ts";
