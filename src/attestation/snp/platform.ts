import { CoterieError, isCoterieError } from "../../util/errors.ts";
import { bytesEqual, toBase64 } from "../encoding.ts";
import { reportDataBytes } from "../report-data.ts";
import { sealMagic, sealWith, unsealWith } from "../seal.ts";
import type { Platform, SecurityDescription, SnpEvidence } from "../types.ts";
import type { SnpEvidenceProvider } from "./provider.ts";
import { parseSnpReport } from "./report.ts";

export type SnpPlatformOptions = { provider: SnpEvidenceProvider };

/** Sealing-key bytes the provider must return. */
const sealingKeyBytes = 32;

async function viaProvider<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (isCoterieError(error)) throw error;
    throw new CoterieError("COTERIE_ERR_ATTESTATION_PROVIDER_FAILED", `SEV-SNP provider failed to ${what}`, {
      cause: error,
    });
  }
}

function providerFailed(message: string): never {
  throw new CoterieError("COTERIE_ERR_ATTESTATION_PROVIDER_FAILED", message);
}

/**
 * The SEV-SNP platform. Evidence and the sealing key come from the provider; this checks that
 * what the provider returned is a well-formed report for the requested report data, so a broken
 * provider is noticed on the node itself rather than by the members refusing its join.
 */
export function createSnpPlatform(options: SnpPlatformOptions): Platform {
  const { provider } = options;
  let sealingKey: Promise<Uint8Array> | undefined;
  // Asked once and kept in memory; a failure is not cached, so the next call asks again.
  const key = () =>
    (sealingKey ??= viaProvider("derive the sealing key", () => provider.getSealingKey())
      .then((k) =>
        k.byteLength === sealingKeyBytes ? k : providerFailed(`sealing key must be ${sealingKeyBytes} bytes`),
      )
      .catch((error: unknown) => {
        sealingKey = undefined;
        throw error;
      }));
  const noSalt = new Uint8Array(0);
  return {
    name: "sev-snp",
    describeSecurity: (): SecurityDescription => ({
      insecure: false,
      message: "Attestation platform: AMD SEV-SNP (memory encrypted and integrity-protected by the CPU).",
    }),
    getEvidence: async (reportData: Uint8Array): Promise<SnpEvidence> => {
      if (reportData.byteLength !== reportDataBytes)
        throw new RangeError(`reportData must be ${reportDataBytes} bytes`);
      const raw = await viaProvider("get a report", () => provider.getReport(reportData));
      const report = parseSnpReport(raw);
      if (!bytesEqual(report.reportData, reportData))
        providerFailed("provider returned a report for other report data");
      const endorsements = await viaProvider("get endorsements", () => provider.getEndorsements(raw));
      return { platform: "sev-snp", report: toBase64(raw), endorsements };
    },
    seal: async (plaintext, label) => sealWith(sealMagic.snp, await key(), noSalt, plaintext, label),
    unseal: async (sealed, label) => unsealWith(sealMagic.snp, await key(), noSalt, sealed, label),
  };
}
