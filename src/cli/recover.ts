/**
 * `coterie recover ...`: disaster recovery for operators and members (docs/operations.md,
 * "Disaster recovery").
 *
 *   choose --from DIR [--from DIR ...] [--snapshot FILE ...] [--service-cert PEM]
 *       verify each node's ledger and say which one to recover from, and why
 *   start --config FILE --from DIR [--from DIR ...] [--snapshot FILE ...] [--app NAME] [--service-cert PEM]
 *       choose, copy that ledger (and the snapshot it starts after) into the config's dataDir,
 *       start one node in recover mode
 *   decrypt-share --key PEM (--ledger DIR [--snapshot FILE] --member-cert PEM | --share-file FILE)
 *       offline: decrypt your own recovery share (printed as base64)
 *
 * A ledger that starts after a snapshot (its node joined from one) is verified and recovered
 * together with that snapshot: the one in the node's `snapshots/` directory, or one given with
 * `--snapshot` (src/cli/ledger-base.ts).
 *   submit-share --url URL --service-cert PEM --cert PEM --key PEM --share BASE64
 *       sign it (COSE msg type recovery_share) and submit it to the recovering node
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { Agent, request } from "node:https";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { certificateId } from "../crypto/x509.ts";
import { GOV_CONTENT_TYPE, type GovMessageType, pemSigner, signGovRequest } from "../governance/index.ts";
import { firstSeqnoOfChunk, isChunkHeader, scanFrame } from "../ledger/chunk-format.ts";
import { decodeEntry, publicWritesOf } from "../ledger/entry.ts";
import { decodeSnapshot } from "../ledger/snapshot.ts";
import { verifyLedgerDirectory } from "../ledger/verify.ts";
import { startNode } from "../node/node.ts";
import { SHARE_LABEL } from "../node/recovery-shares.ts";
import { openSealed } from "../node/secrets-crypto.ts";
import { type RecoveryShare, recoveryShares } from "../tables/secrets.ts";
import { CoterieError } from "../util/errors.ts";
import { loadApp } from "./apps.ts";
import { ledgerOnDisk } from "./ledger-base.ts";
import { UsageError } from "./main.ts";
import { loadConfigFile } from "./serve.ts";

export type LedgerCandidate = {
  dir: string;
  ledgerDir: string;
  lastSignedSeqno: number;
  /** The snapshot the ledger starts after, with the seqno of its evidence (null: starts at 1). */
  snapshot: { path: string; seqno: number; evidenceSeqno: number } | null;
  problem: string | null;
};

/**
 * Verifies each directory (a node data dir or a ledger dir, with the snapshot it starts after);
 * the longest verified signed ledger wins.
 */
export function chooseLedger(
  dirs: string[],
  serviceCertPem?: string,
  snapshotFiles: readonly string[] = [],
): { chosen: LedgerCandidate; all: LedgerCandidate[] } {
  const all = dirs.map((dir): LedgerCandidate => {
    let ledgerDir = existsSync(join(dir, "ledger")) ? join(dir, "ledger") : dir;
    try {
      const onDisk = ledgerOnDisk(dir, snapshotFiles);
      ledgerDir = onDisk.ledgerDir;
      const report = verifyLedgerDirectory(ledgerDir, {
        ...(serviceCertPem === undefined ? {} : { serviceCertPem }),
        ...(onDisk.snapshot === null ? {} : { snapshot: onDisk.snapshot.bytes }),
      });
      const snapshot =
        onDisk.snapshot === null || report.snapshot === null
          ? null
          : { path: onDisk.snapshot.path, ...report.snapshot };
      return { dir, ledgerDir, lastSignedSeqno: report.lastSignedSeqno, snapshot, problem: null };
    } catch (error) {
      return { dir, ledgerDir, lastSignedSeqno: 0, snapshot: null, problem: (error as Error).message };
    }
  });
  const valid = all.filter((c) => c.problem === null && c.lastSignedSeqno > 0);
  if (valid.length === 0)
    throw new CoterieError("COTERIE_ERR_RECOVERY_NO_LEDGER", "no directory holds a verifiable signed ledger");
  const chosen = valid.reduce((best, c) => (c.lastSignedSeqno > best.lastSignedSeqno ? c : best));
  return { chosen, all };
}

function explain(result: ReturnType<typeof chooseLedger>): void {
  for (const c of result.all) {
    const after = c.snapshot === null ? "" : ` (starts after snapshot ${c.snapshot.seqno})`;
    const what = c.problem ?? `verified${after}, last signed seqno ${c.lastSignedSeqno}`;
    console.log(`  ${c === result.chosen ? "*" : " "} ${c.dir}: ${what}`);
  }
  console.log(
    `chosen: ${result.chosen.dir} — the longest ledger whose every signature verifies ` +
      "(entries after its last signature were never committed and are discarded)",
  );
}

/**
 * Reads the latest recovery share record of `memberId` from ledger files, without changing them;
 * a ledger that starts after a snapshot starts from the record in that snapshot's public maps.
 */
export function shareFromLedger(
  path: string,
  memberId: string,
  snapshotFiles: readonly string[] = [],
): RecoveryShare {
  const { ledgerDir: dir, snapshot } = ledgerOnDisk(path, snapshotFiles);
  const parse = (value: Uint8Array) => JSON.parse(Buffer.from(value).toString()) as RecoveryShare;
  let found: RecoveryShare | null = null;
  if (snapshot !== null) {
    const map = decodeSnapshot(snapshot.bytes, "public-only").maps.find(
      (m) => m.name === recoveryShares.name,
    );
    for (const e of map?.entries ?? [])
      if (Buffer.from(e.key).toString("utf8") === memberId) found = parse(e.value);
  }
  const names = readdirSync(dir)
    .filter((n) => firstSeqnoOfChunk(n) !== null)
    .sort();
  for (const name of names) {
    const buf = readFileSync(join(dir, name));
    if (!isChunkHeader(buf))
      throw new CoterieError("COTERIE_ERR_LEDGER_CORRUPT", `${name}: bad chunk header`);
    for (let offset = 16; offset < buf.length; ) {
      const frame = scanFrame(buf, offset);
      if (!frame.ok) break;
      offset = frame.next;
      const map = publicWritesOf(decodeEntry(frame.entry)).find((m) => m.name === recoveryShares.name);
      const w = map?.writes.find((x) => Buffer.from(x.key).toString("utf8") === memberId);
      if (w !== undefined) found = w.value === null ? null : parse(w.value);
    }
  }
  if (found === null)
    throw new CoterieError(
      "COTERIE_ERR_RECOVERY_NOT_A_PARTICIPANT",
      "no share for this member in the ledger",
    );
  return found;
}

export function decryptShare(record: RecoveryShare, privateKeyPem: string): Buffer {
  const { createPrivateKey } = process.getBuiltinModule("node:crypto");
  const sealed = {
    algorithm: record.algorithm,
    encrypted: record.encrypted_share,
    ...(record.ephemeral_public_key === undefined
      ? {}
      : { ephemeral_public_key: record.ephemeral_public_key }),
  };
  return openSealed(createPrivateKey(privateKeyPem), sealed, SHARE_LABEL);
}

export type MemberConnection = { url: string; serviceCertPem: string; certPem: string; keyPem: string };

/** Signs a governance request as a member and posts it; resolves with status and parsed body. */
export function memberPost(
  c: MemberConnection,
  path: string,
  type: GovMessageType,
  payload: string,
  proposalId?: string,
): Promise<{ status: number; body: unknown }> {
  return signGovRequest({
    signer: pemSigner(c.certPem, c.keyPem),
    type,
    payload,
    ...(proposalId ? { proposalId } : {}),
  }).then(
    (bytes) =>
      new Promise((resolve, reject) => {
        const agent = new Agent({ ca: c.serviceCertPem, cert: c.certPem, key: c.keyPem });
        const req = request(
          `${c.url}${path}`,
          { method: "POST", agent, headers: { "content-type": GOV_CONTENT_TYPE } },
          (res) => {
            const chunks: Buffer[] = [];
            res.on("data", (d: Buffer) => chunks.push(d));
            res.on("end", () => {
              const text = Buffer.concat(chunks).toString();
              agent.destroy();
              resolve({ status: res.statusCode ?? 0, body: text === "" ? null : JSON.parse(text) });
            });
          },
        );
        req.on("error", reject);
        req.end(bytes);
      }),
  );
}

export async function runRecover(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      from: { type: "string", multiple: true },
      snapshot: { type: "string", multiple: true },
      config: { type: "string" },
      app: { type: "string" },
      "service-cert": { type: "string" },
      key: { type: "string" },
      cert: { type: "string" },
      ledger: { type: "string" },
      "member-cert": { type: "string" },
      "share-file": { type: "string" },
      share: { type: "string" },
      url: { type: "string" },
    },
  });
  const read = (p: string | undefined, flag: string) => {
    if (!p) throw new UsageError(`${flag} is required`);
    return readFileSync(p, "utf8");
  };
  const serviceCert = values["service-cert"] ? readFileSync(values["service-cert"], "utf8") : undefined;
  switch (positionals[0]) {
    case "choose": {
      explain(chooseLedger(values.from ?? [], serviceCert, values.snapshot ?? []));
      return 0;
    }
    case "start":
      return startRecovery(values.config, values.from ?? [], values.app, serviceCert, values.snapshot ?? []);
    case "decrypt-share": {
      const key = read(values.key, "--key PEM");
      const record = values["share-file"]
        ? (JSON.parse(read(values["share-file"], "--share-file")) as RecoveryShare)
        : shareFromLedger(
            values.ledger ?? "",
            certificateId(read(values["member-cert"], "--member-cert PEM (or --share-file)")),
            values.snapshot ?? [],
          );
      console.log(decryptShare(record, key).toString("base64"));
      return 0;
    }
    case "submit-share": {
      if (!values.url || !values.share) throw new UsageError("submit-share needs --url and --share");
      const reply = await memberPost(
        {
          url: values.url,
          serviceCertPem: read(values["service-cert"], "--service-cert"),
          certPem: read(values.cert, "--cert"),
          keyPem: read(values.key, "--key"),
        },
        "/gov/v1/recovery/shares",
        "recovery_share",
        JSON.stringify({ share: values.share }),
      );
      console.log(JSON.stringify(reply.body));
      return reply.status === 200 ? 0 : 1;
    }
    default:
      throw new UsageError("recover choose|start|decrypt-share|submit-share (see src/cli/recover.ts)");
  }
}

async function startRecovery(
  configPath: string | undefined,
  from: string[],
  app: string | undefined,
  serviceCert: string | undefined,
  snapshotFiles: readonly string[],
): Promise<number> {
  if (!configPath) throw new UsageError("recover start needs --config FILE");
  const config = loadConfigFile(configPath);
  const result = chooseLedger(from, serviceCert, snapshotFiles);
  explain(result);
  const target = join(config.dataDir, "ledger");
  const nonEmpty = (d: string) => existsSync(d) && readdirSync(d).length > 0;
  if (
    existsSync(join(config.dataDir, "sealed")) ||
    nonEmpty(target) ||
    nonEmpty(join(config.dataDir, "snapshots"))
  )
    throw new UsageError(
      `${config.dataDir} must be a fresh data directory (no sealed/, ledger/ or snapshots/)`,
    );
  mkdirSync(target, { recursive: true });
  for (const name of readdirSync(result.chosen.ledgerDir).filter((n) => firstSeqnoOfChunk(n) !== null))
    copyFileSync(join(result.chosen.ledgerDir, name), join(target, name));
  // The snapshot the chosen ledger starts after, under the name a node looks for (snapshot-files.ts).
  const snapshot = result.chosen.snapshot;
  if (snapshot !== null) {
    const snapshots = join(config.dataDir, "snapshots");
    mkdirSync(snapshots, { recursive: true });
    copyFileSync(
      snapshot.path,
      join(snapshots, `snapshot_${snapshot.seqno}_${snapshot.evidenceSeqno}.committed`),
    );
  }
  const node = await startNode(config, await loadApp(app ?? "logging"), { recover: true });
  console.log(`coterie: listening on ${node.url}`);
  console.log(
    "recover mode: members now (1) vote transition_service_to_open, (2) decrypt their shares\n" +
      "  (coterie recover decrypt-share) and (3) submit them (coterie recover submit-share).",
  );
  const stop = () => node.close().then(() => process.exit(0));
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  return -1;
}
