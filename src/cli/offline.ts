/** Offline subcommands: they read files and never contact a node. */
import { existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { verifyServedCoseReceipt } from "../crypto/cose-receipt.ts";
import { verifyReceipt } from "../crypto/receipt.ts";
import { firstSeqnoOfChunk } from "../ledger/chunk-format.ts";
import { verifyLedgerDirectory } from "../ledger/verify.ts";
import { ensureIdentityFiles } from "./identity-files.ts";
import { ledgerOnDisk } from "./ledger-base.ts";
import { UsageError } from "./main.ts";

type Values = { "service-cert"?: string; snapshot?: string; json?: boolean; name?: string; out?: string };

/** DIR is a ledger directory or a node's data directory; see ledger-base.ts for `--snapshot`. */
export function runLedgerVerify(dir: string | undefined, values: Values): number {
  if (!dir) throw new UsageError("ledger verify needs a directory");
  if (!existsSync(dir)) throw new UsageError(`${dir}: no such directory`);
  const serviceCertPem = values["service-cert"] ? readFileSync(values["service-cert"], "utf8") : undefined;
  const { ledgerDir, snapshot } = ledgerOnDisk(dir, values.snapshot === undefined ? [] : [values.snapshot]);
  if (firstSeqnoOfChunk(readdirSync(ledgerDir).find((n) => firstSeqnoOfChunk(n) !== null) ?? "") === null)
    throw new UsageError(`${ledgerDir} holds no ledger chunk (ledger_<seqno>.chunk)`);
  if (values.snapshot !== undefined && snapshot === null)
    throw new UsageError(
      `${ledgerDir} starts at seqno 1: it is verified without a snapshot (drop --snapshot)`,
    );
  const report = verifyLedgerDirectory(ledgerDir, {
    ...(serviceCertPem === undefined ? {} : { serviceCertPem }),
    ...(snapshot === null ? {} : { snapshot: snapshot.bytes }),
  });
  if (values.json) console.log(JSON.stringify({ ok: true, ...report }));
  else {
    console.log(
      `ledger OK: ${report.entries} entries in ${report.chunks.length} chunk(s), ${report.signatures} signatures, ` +
        `last signed seqno ${report.lastSignedSeqno}, unsigned tail ${report.unsignedTail}`,
    );
    if (report.snapshot !== null)
      console.log(
        `started after snapshot ${report.snapshot.seqno} (${snapshot?.path}); its digest is recorded at seqno ${report.snapshot.evidenceSeqno}`,
      );
    if (report.serviceCertSource !== "given") {
      console.log(
        `note: no --service-cert given; trusted the service certificate recorded in the ${report.serviceCertSource} itself`,
      );
    }
  }
  return 0;
}

export async function runReceiptVerify(file: string | undefined, values: Values): Promise<number> {
  if (!file) throw new UsageError("receipt verify needs a receipt file");
  if (!values["service-cert"]) throw new UsageError("receipt verify needs --service-cert PEM");
  const parsed = JSON.parse(readFileSync(file, "utf8")) as { receipt?: unknown; cose_receipt?: unknown };
  const serviceCert = readFileSync(values["service-cert"], "utf8");
  // Accept a bare receipt, a respond-on-commit response that carries one, or the COSE form's answer.
  const cose = parsed !== null && typeof parsed === "object" && "cose_receipt" in parsed;
  const verified = cose
    ? await verifyServedCoseReceipt(parsed, serviceCert)
    : await verifyReceipt(parsed.receipt ?? parsed, serviceCert);
  if (values.json) console.log(JSON.stringify({ ok: true, ...verified }));
  else
    console.log(
      `receipt OK${cose ? " (COSE)" : ""}: transaction ${verified.transactionId}, root ${verified.root}, node ${verified.nodeId}`,
    );
  return 0;
}

export async function runKeygen(values: Values): Promise<number> {
  if (!values.name || !/^[A-Za-z0-9_-]{1,64}$/.test(values.name)) {
    throw new UsageError("keygen needs --name of 1-64 letters, digits, _ or -");
  }
  const dir = values.out ?? ".";
  mkdirSync(dir, { recursive: true });
  const files = await ensureIdentityFiles(dir, values.name);
  console.log(`${files.certPath}\n${files.keyPath}`);
  return 0;
}
