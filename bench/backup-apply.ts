// Micro-benchmark of what a backup does with each replicated entry (not a test), stage by stage, so
// the cost of each can be read off: decoding the entry, hashing it for the Merkle tree, opening its
// private section (AES-256-GCM) and decoding the write set, merging and sorting the public and
// private writes, converting them for the store, and applying them to a store. The stages are
// those of `RaftReplicator.appendReplicated` and `applyReplicated`, called in the same order
// (those methods are private to the replicator; the ledger append and the file write are left
// out). A single-node engine first writes `entries` private writes like the logging app's
// (`records`, a decimal key and a 45-byte message); each stage then runs over all of them, and
// each row runs the stages before it too, so a stage's own cost is the difference to the row above.
// AES-256-GCM alone on the same sizes is measured beside them: a seal or an open makes a native
// cipher object each time, which is what batch sealing (one seal per group of entries, a ledger
// format change) would remove. Reports CPU µs per entry, medians of the rounds.
// Usage: node bench/backup-apply.ts [entries=20000] [rounds=5]
import { createCipheriv, createDecipheriv } from "node:crypto";
import { GCM_NONCE_BYTES, GCM_TAG_BYTES, secretKeyObject } from "../src/crypto/aead.ts";
import { Store } from "../src/kv/index.ts";
import type { WriteSet } from "../src/kv/types.ts";
import { fromWriteSet } from "../src/kv/writeset.ts";
import {
  type DecodedEntry,
  decodeEntry,
  HEADER_BYTES,
  leafOf,
  privateWritesOf,
  publicWritesOf,
} from "../src/ledger/entry.ts";
import { benchEngine } from "./engine.ts";

const entries = Number(process.argv[2] ?? 20_000);
const rounds = Number(process.argv[3] ?? 5);
if (!Number.isSafeInteger(entries) || entries < 1) throw new RangeError("entries must be a positive integer");
if (!Number.isSafeInteger(rounds) || rounds < 1) throw new RangeError("rounds must be a positive integer");

const { engine, ledger, dispose } = await benchEngine("backup-apply", {
  uncommittedTxsMax: entries + 1_000,
  signatureIntervalTxs: entries + 1_000,
  signatureIntervalMs: 600_000,
});
try {
  engine.start();
  const encoder = new TextEncoder();
  for (let n = 0; n < entries; n += 256) {
    const batch = Array.from({ length: Math.min(256, entries - n) }, (_, i) =>
      engine.execute(
        (tx) =>
          tx.put(
            "records",
            encoder.encode(String(n + i)),
            encoder.encode(`benchmark record ${String(n + i).padEnd(27, "-")}`),
          ),
        { reservedWrites: false },
      ),
    );
    await Promise.all(batch);
  }
  await ledger.flush();
  const first = ledger.lastSeqno - entries + 1;
  const bytes = Array.from({ length: entries }, (_, i) => ledger.files.read(first + i));
  const sample = decodeEntry(bytes[0] as Buffer);
  const secret = engine.secretFor(sample.header.secretVersion);

  const writesOf = (d: DecodedEntry): WriteSet => {
    const writes = [...publicWritesOf(d), ...privateWritesOf(d, secret)];
    writes.sort(byMapName);
    return writes;
  };
  const stages: Array<[string, (b: Buffer) => unknown]> = [
    ["decode the entry", (b) => decodeEntry(b)],
    [
      "+ write-set digest and leaf",
      (b) => {
        const d = decodeEntry(b);
        return leafOf(d);
      },
    ],
    [
      "+ open the private section",
      (b) => {
        const d = decodeEntry(b);
        leafOf(d);
        return privateWritesOf(d, secret);
      },
    ],
    [
      "+ public writes, merge, sort",
      (b) => {
        const d = decodeEntry(b);
        leafOf(d);
        return writesOf(d);
      },
    ],
    [
      "+ convert for the store",
      (b) => {
        const d = decodeEntry(b);
        leafOf(d);
        return fromWriteSet(writesOf(d));
      },
    ],
  ];

  // AES-256-GCM alone, on what one of these entries seals: its private plaintext and header.
  const plaintextBytes = sample.header.privateBytes - GCM_NONCE_BYTES - GCM_TAG_BYTES;
  const key = secretKeyObject(secret.key);
  const nonce = sample.privateSection.subarray(0, GCM_NONCE_BYTES);
  const aad = sample.bytes.subarray(0, HEADER_BYTES);
  const pt = Buffer.alloc(plaintextBytes, 7);
  const sealed = sample.privateSection.subarray(GCM_NONCE_BYTES);
  const aes: Array<[string, () => unknown]> = [
    ["AES-GCM: the cipher object alone", () => createDecipheriv("aes-256-gcm", key, nonce)],
    [
      "AES-GCM: seal",
      () => {
        const c = createCipheriv("aes-256-gcm", key, nonce);
        c.setAAD(aad);
        c.update(pt);
        c.final();
        return c.getAuthTag();
      },
    ],
    [
      "AES-GCM: open",
      () => {
        const d = createDecipheriv("aes-256-gcm", key, nonce);
        d.setAAD(aad);
        d.setAuthTag(sealed.subarray(sealed.length - GCM_TAG_BYTES));
        d.update(sealed.subarray(0, sealed.length - GCM_TAG_BYTES));
        return d.final();
      },
    ],
  ];

  const perEntryUs = new Map<string, number[]>();
  const record = (label: string, us: number) => {
    const xs = perEntryUs.get(label) ?? [];
    xs.push(us);
    perEntryUs.set(label, xs);
  };
  const cpuUs = () => {
    const u = process.cpuUsage();
    return u.user + u.system;
  };
  for (let r = 0; r <= rounds; r++) {
    for (const [label, stage] of stages) {
      const t = cpuUs();
      for (const b of bytes) stage(b);
      if (r > 0) record(label, (cpuUs() - t) / entries);
    }
    // The whole apply into a store, compacted every 100 versions as commits would.
    const store = new Store();
    const t = cpuUs();
    let version = 0;
    for (const b of bytes) {
      const d = decodeEntry(b);
      leafOf(d);
      store.applyWriteSet(writesOf(d), ++version);
      if (version % 100 === 0) store.compact(version);
    }
    if (r > 0) record("+ apply to the store", (cpuUs() - t) / entries);
    for (const [label, op] of aes) {
      const t = cpuUs();
      for (let i = 0; i < entries; i++) op();
      if (r > 0) record(label, (cpuUs() - t) / entries);
    }
  }
  const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)] as number;
  console.log(
    `${entries} entries of ${sample.bytes.length} bytes (${plaintextBytes} bytes of private plaintext); ` +
      `CPU µs per entry, median of ${rounds} rounds (each round's figure after it)`,
  );
  for (const [label, xs] of perEntryUs) {
    console.log(
      `${label.padEnd(34)} ${median(xs).toFixed(2).padStart(6)}   (${xs.map((x) => x.toFixed(2)).join(", ")})`,
    );
  }
} finally {
  await dispose();
}

function byMapName(a: { name: string }, b: { name: string }): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}
