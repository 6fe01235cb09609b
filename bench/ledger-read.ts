// Reading entries back from the ledger files (src/ledger/files.ts), as the history index's catch-up,
// historical queries and receipts of older transactions do: in seqno order and at random, entries
// per second and CPU per read. Run it from two commits in alternation to compare them.
// Usage: node bench/ledger-read.ts [entries=50000] [rounds=3]
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EntryKind, encodeEntry, ZERO_DIGEST } from "../src/ledger/entry.ts";
import { defaultLedgerFilesOptions, LedgerFiles } from "../src/ledger/files.ts";

const entries = Number(process.argv[2] ?? 50_000);
const rounds = Number(process.argv[3] ?? 3);
if (!Number.isSafeInteger(entries) || entries < 1) throw new RangeError("entries must be a positive integer");
if (!Number.isSafeInteger(rounds) || rounds < 1) throw new RangeError("rounds must be a positive integer");

const enc = (s: string) => new TextEncoder().encode(s);
const dir = mkdtempSync(join(tmpdir(), "coterie-ledger-read-"));
try {
  const { files } = LedgerFiles.open(join(dir, "ledger"), defaultLedgerFilesOptions);
  for (let seqno = 1; seqno <= entries; seqno++) {
    const entry = encodeEntry(
      {
        kind: EntryKind.transaction,
        view: 1,
        seqno,
        publicWrites: [
          { name: "public:records", writes: [{ key: enc(`k${seqno}`), value: enc(`v${seqno}`.repeat(8)) }] },
        ],
        privateWrites: [],
        claimsDigest: ZERO_DIGEST,
        commitEvidenceDigest: ZERO_DIGEST,
      },
      null,
    );
    // Every 1,000th counts as a signature so chunks close at their size, as in a node's ledger.
    files.append(entry.bytes, seqno, seqno % 1000 === 0);
    if (seqno % 10_000 === 0) await files.flush();
  }
  await files.flush();
  const order = Array.from({ length: entries }, (_, i) => i + 1);
  const shuffled = [...order];
  for (let i = shuffled.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [shuffled[i], shuffled[j]] = [shuffled[j] as number, shuffled[i] as number];
  }
  const measure = (label: string, seqnos: number[]) => {
    const cpu0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    let bytes = 0;
    for (const s of seqnos) bytes += files.read(s).length;
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const cpu = process.cpuUsage(cpu0);
    const cpuUs = (cpu.user + cpu.system) / seqnos.length;
    console.log(
      `${label.padEnd(10)} ${Math.round(seqnos.length / seconds).toLocaleString("en")} reads/s, ` +
        `CPU ${cpuUs.toFixed(2)} µs per read (${bytes} bytes)`,
    );
  };
  for (let r = 1; r <= rounds; r++) {
    measure("in order", order);
    measure("at random", shuffled);
  }
  await files.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
