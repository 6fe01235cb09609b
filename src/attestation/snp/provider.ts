import { execFile } from "node:child_process";
import { CoterieError } from "../../util/errors.ts";
import { toHex } from "../encoding.ts";
import { snpReportLayout } from "./report.ts";

/**
 * Where a SEV-SNP guest gets its evidence and sealing key. The node never talks to
 * /dev/sev-guest itself: a provider does, so the hardware-specific part is small, replaceable
 * and absent from tests. Each method may throw; the platform reports COTERIE_ERR_ATTESTATION_PROVIDER_FAILED.
 */
export interface SnpEvidenceProvider {
  /** The raw 1184-byte ATTESTATION_REPORT for these 64 bytes of REPORT_DATA (SNP_GET_REPORT, MSG_REPORT_REQ). */
  getReport(reportData: Uint8Array): Promise<Uint8Array>;
  /** PEM VCEK, ASK, ARK for the report's CHIP_ID and REPORTED_TCB (extended report, AMD KDS or a cache). */
  getEndorsements(report: Uint8Array): Promise<string>;
  /**
   * A 32-byte key from MSG_KEY_REQ (SNP_GET_DERIVED_KEY) with ROOT_KEY_SELECT = VCEK and
   * GUEST_FIELD_SELECT including MEASUREMENT and GUEST_POLICY: only the same code with the same
   * policy on the same chip gets the same key.
   */
  getSealingKey(): Promise<Uint8Array>;
}

export type CommandProviderOptions = {
  /** argv run with the report data hex appended; prints the raw 1184-byte report on stdout. */
  reportCommand: readonly string[];
  /** argv run with CHIP_ID hex and REPORTED_TCB hex appended; prints the PEM chain on stdout. */
  endorsementsCommand: readonly string[];
  /** argv run with no extra argument; prints the 32 raw key bytes on stdout. */
  sealingKeyCommand: readonly string[];
  /** Per command; default 30 000. */
  timeoutMs?: number;
};

/** Largest stdout we accept from a provider command. */
const stdoutBytesMax = 1024 * 1024;

function run(
  argv: readonly string[],
  extra: readonly string[],
  timeoutMs: number,
  what: string,
): Promise<Buffer> {
  const [file, ...args] = argv;
  if (file === undefined) throw new TypeError(`${what} command must not be empty`);
  return new Promise((resolve, reject) => {
    const options = { encoding: "buffer" as const, timeout: timeoutMs, maxBuffer: stdoutBytesMax };
    execFile(file, [...args, ...extra], options, (error, stdout) => {
      if (error === null) return resolve(stdout);
      reject(
        new CoterieError("COTERIE_ERR_ATTESTATION_PROVIDER_FAILED", `${what} command failed`, {
          cause: error,
        }),
      );
    });
  });
}

function exactly(bytes: Buffer, length: number, what: string): Uint8Array {
  if (bytes.byteLength !== length) {
    throw new CoterieError(
      "COTERIE_ERR_ATTESTATION_PROVIDER_FAILED",
      `${what} command printed ${bytes.byteLength} bytes, expected ${length}`,
    );
  }
  return new Uint8Array(bytes);
}

/**
 * A provider that runs commands (e.g. small scripts around `snpguest`; docs/attestation.md shows
 * one). Arguments are passed as argv, never through a shell.
 */
export function createCommandProvider(options: CommandProviderOptions): SnpEvidenceProvider {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const L = snpReportLayout;
  return {
    getReport: async (reportData) =>
      exactly(
        await run(options.reportCommand, [toHex(reportData)], timeoutMs, "report"),
        L.bytesLength,
        "report",
      ),
    getEndorsements: async (report) => {
      const chipId = toHex(report.subarray(L.chipId, L.chipId + 64));
      const tcb = toHex(report.subarray(L.reportedTcb, L.reportedTcb + 8));
      return (await run(options.endorsementsCommand, [chipId, tcb], timeoutMs, "endorsements")).toString(
        "utf8",
      );
    },
    getSealingKey: async () =>
      exactly(await run(options.sealingKeyCommand, [], timeoutMs, "sealing key"), 32, "sealing key"),
  };
}
