/**
 * The constitution runtime: the constitution module and ballots run in src/sandbox under its time
 * and memory limits. `validate` and `resolve` and ballots see the state read-only; `apply` writes
 * through `GovKv`'s overlay. Every guest failure is a CoterieError the caller records as the
 * proposal's failure; host bugs propagate.
 *
 * Host functions offered to the guest (all synchronous, JSON in and out):
 *   kv_get(map, key) → value | null          kv_entries(map) → [[key, value], ...]
 *   kv_put(map, key, value), kv_delete(map, key)          (apply only)
 *   cert_id(pem) → hex id                    member_cert_id(pem) → hex id (EC P-256/P-384 only)
 *   validate_constitution(source) → null | reason
 *   validate_app_bundle(source) → null | reason           (pluggable; "not available" until set)
 */
import { X509Certificate } from "node:crypto";
import { certificateId } from "../crypto/x509.ts";
import {
  createSandbox,
  type HostFunctions,
  type JsonValue,
  type Sandbox,
  type SandboxLimits,
  type SandboxModule,
} from "../sandbox/index.ts";
import type { Proposal } from "../tables/governance.ts";
import { CoterieError } from "../util/errors.ts";
import type { GovKv } from "./kv-access.ts";

export const CONSTITUTION_FUNCTIONS = ["validate", "resolve", "apply"] as const;
export type Resolution = "Open" | "Accepted" | "Rejected";
export type Vote = { member_id: string; vote: boolean };
/** Returns null when the bundle is acceptable, or the reason it is not. */
export type AppBundleValidator = (source: string) => string | null;

export type ConstitutionRuntimeOptions = {
  limits?: Partial<SandboxLimits>;
  validateAppBundle?: AppBundleValidator;
};

export const APP_BUNDLE_VALIDATION_UNAVAILABLE =
  "not available: this node has no app bundle validator yet (the apps layer provides it)";

function invalidInput(message: string): CoterieError {
  return new CoterieError("COTERIE_ERR_INVALID_INPUT", message);
}

function certIdOf(pem: JsonValue, memberOnly: boolean): string {
  if (typeof pem !== "string") throw invalidInput("a certificate is PEM text");
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(pem);
  } catch {
    throw invalidInput("not a PEM X.509 certificate");
  }
  if (memberOnly) {
    const curve = cert.publicKey.asymmetricKeyDetails?.namedCurve;
    if (curve !== "prime256v1" && curve !== "secp384r1") {
      throw invalidInput("a member certificate needs an EC P-256 or P-384 key (COSE ES256/ES384)");
    }
  }
  return certificateId(cert.raw);
}

export class ConstitutionRuntime {
  private readonly sandbox: Sandbox;
  private readonly limits: Partial<SandboxLimits>;
  private checker: Sandbox | null = null;
  private loaded: { source: string; module: SandboxModule } | null = null;
  private readonly validateAppBundle: AppBundleValidator;

  constructor(options: ConstitutionRuntimeOptions = {}) {
    this.limits = options.limits ?? {};
    this.sandbox = createSandbox({ limits: this.limits });
    this.validateAppBundle = options.validateAppBundle ?? (() => APP_BUNDLE_VALIDATION_UNAVAILABLE);
  }

  /** The constitution module for `source`, loaded once and replaced when the source changes. */
  private constitution(source: string): SandboxModule {
    if (this.loaded?.source === source) return this.loaded.module;
    this.loaded?.module.dispose();
    this.loaded = null;
    const module = this.sandbox.loadModule(source, "constitution.js", {
      requiredFunctions: CONSTITUTION_FUNCTIONS,
    });
    this.loaded = { source, module };
    return module;
  }

  private host(kv: GovKv): HostFunctions {
    return {
      kv_get: (map, key) => kv.get(map, key),
      kv_entries: (map) => kv.entries(map),
      kv_put: (map, key, value) => {
        kv.put(map, key, value ?? null);
      },
      kv_delete: (map, key) => {
        kv.delete(map, key);
      },
      cert_id: (pem) => certIdOf(pem ?? null, false),
      member_cert_id: (pem) => certIdOf(pem ?? null, true),
      validate_constitution: (source) => this.checkConstitution(source ?? null),
      validate_app_bundle: (source) =>
        typeof source === "string" ? this.validateAppBundle(source) : "the bundle source must be text",
    };
  }

  /** Loads `source` in a separate sandbox (calls are not re-entrant) to check it compiles and exports. */
  private checkConstitution(source: JsonValue): string | null {
    if (typeof source !== "string") return "the constitution must be JavaScript source text";
    this.checker ??= createSandbox({ limits: this.limits });
    try {
      this.checker
        .loadModule(source, "proposed-constitution.js", { requiredFunctions: CONSTITUTION_FUNCTIONS })
        .dispose();
      return null;
    } catch (error) {
      if (error instanceof CoterieError) return `${error.code}: ${error.message}`;
      throw error;
    }
  }

  /** The constitution's verdict on a proposal. Throws CONSTITUTION_ERROR if it throws or misbehaves. */
  validate(kv: GovKv, source: string, proposal: Proposal): { valid: boolean; description: string } {
    let out: JsonValue;
    try {
      out = this.constitution(source).call("validate", [proposal as unknown as JsonValue], this.host(kv));
    } catch (error) {
      if (!(error instanceof CoterieError)) throw error;
      throw new CoterieError("COTERIE_ERR_GOV_CONSTITUTION_ERROR", `validate failed: ${error.message}`, {
        details: { code: error.code },
      });
    }
    if (typeof out !== "object" || out === null || Array.isArray(out) || typeof out.valid !== "boolean") {
      throw new CoterieError(
        "COTERIE_ERR_GOV_CONSTITUTION_ERROR",
        "validate must return { valid: boolean, description?: string }",
      );
    }
    return { valid: out.valid, description: typeof out.description === "string" ? out.description : "" };
  }

  /** Loads a ballot to check it compiles and exports `vote`; nothing runs but its top level. */
  checkBallot(source: string): void {
    this.sandbox.loadModule(source, "ballot.js", { requiredFunctions: ["vote"] }).dispose();
  }

  /** Runs one ballot against the current state. Throws CoterieError if it fails or returns a non-boolean. */
  vote(kv: GovKv, ballot: string, proposal: Proposal, proposerId: string): boolean {
    const module = this.sandbox.loadModule(ballot, "ballot.js", { requiredFunctions: ["vote"] });
    try {
      const out = module.call("vote", [proposal as unknown as JsonValue, proposerId], this.host(kv));
      if (typeof out !== "boolean") {
        throw new CoterieError(
          "COTERIE_ERR_SANDBOX_INVALID_RESULT",
          `vote returned ${typeof out}, not a boolean`,
        );
      }
      return out;
    } finally {
      module.dispose();
    }
  }

  resolve(kv: GovKv, source: string, proposal: Proposal, proposerId: string, votes: Vote[]): Resolution {
    const args = [proposal as unknown as JsonValue, proposerId, votes as unknown as JsonValue];
    const out = this.constitution(source).call("resolve", args, this.host(kv));
    if (out !== "Open" && out !== "Accepted" && out !== "Rejected") {
      throw new CoterieError(
        "COTERIE_ERR_SANDBOX_INVALID_RESULT",
        `resolve returned ${JSON.stringify(out)}, not "Open", "Accepted" or "Rejected"`,
      );
    }
    return out;
  }

  /** Runs apply; its writes stay in `kv`'s overlay until the caller flushes them. */
  apply(kv: GovKv, source: string, proposal: Proposal, proposalId: string): void {
    this.constitution(source).call("apply", [proposal as unknown as JsonValue, proposalId], this.host(kv));
  }

  dispose(): void {
    this.sandbox.dispose();
    this.checker?.dispose();
  }
}
