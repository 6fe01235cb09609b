// Builds small real ledgers for tests: entries with public and private writes, and signatures
// over the Merkle root by a node key endorsed by a service certificate.

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { verifyLedgerChunks } from "../../../src/client/ledger-verify.ts";
import { type Curve, generateKeyPair, type KeyPair, signP1363 } from "../../../src/crypto/keys.ts";
import { signedRootMessage } from "../../../src/crypto/receipt.ts";
import { certificateId, createSelfSignedCertificate, endorseCertificate } from "../../../src/crypto/x509.ts";
import {
  commitEvidence,
  commitEvidenceDigest,
  commitEvidenceKey,
} from "../../../src/ledger/commit-evidence.ts";
import { EntryKind, encodeEntry, type LedgerSecret, ZERO_DIGEST } from "../../../src/ledger/entry.ts";
import { Ledger } from "../../../src/ledger/ledger.ts";
import { signatureWriteSet } from "../../../src/ledger/signature.ts";
import { type VerifyReport, verifyLedgerDirectory } from "../../../src/ledger/verify.ts";
import { SERVICE_INFO_KEY, SERVICE_INFO_MAP } from "../../../src/tables/service.ts";

export const enc = (s: string) => new TextEncoder().encode(s);

export function tempDir(prefix = "coterie-test-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** `signRoot`, when set, replaces the node's signature over a root message (to forge one). */
export type Identity = {
  service: KeyPair;
  serviceCert: string;
  node: KeyPair;
  nodeCert: string;
  signRoot?: (message: Uint8Array) => Uint8Array;
};

/** A P-384 service identity endorsing a node key on `nodeCurve`. */
export async function makeIdentity(nodeCurve: Curve = "P-384"): Promise<Identity> {
  const service = generateKeyPair();
  const serviceCert = await createSelfSignedCertificate(service, {
    subject: "CN=test service",
    validityDays: 30,
    ca: true,
  });
  const node = generateKeyPair(nodeCurve);
  const nodeCert = await endorseCertificate(node, service, serviceCert, {
    subject: "CN=test node",
    validityDays: 30,
  });
  return { service, serviceCert, node, nodeCert };
}

export const testSecret: LedgerSecret = { version: 0, key: randomBytes(32) };

/** Appends `count` transactions, with a signature after every `signEvery`; returns the ledger. */
export async function writeLedger(
  dir: string,
  id: Identity,
  count: number,
  signEvery: number,
  options = { chunkBytesMax: 4096, batchBytesMax: 64 * 1024 },
): Promise<Ledger> {
  const { ledger } = Ledger.open(dir, options);
  const ceKey = commitEvidenceKey(testSecret.key);
  const view = 2;
  let written = 0;
  while (written < count) {
    const seqno = ledger.lastSeqno + 1;
    const isGenesis = seqno === 1;
    const publicWrites = isGenesis
      ? [
          {
            name: SERVICE_INFO_MAP,
            writes: [
              {
                key: enc(SERVICE_INFO_KEY),
                value: enc(JSON.stringify({ cert: id.serviceCert, status: "Open", created_at: "2.1" })),
              },
            ],
          },
        ]
      : [{ name: "public:log", writes: [{ key: enc(`k${seqno}`), value: enc(`public ${seqno}`) }] }];
    const privateWrites = [
      { name: "log", writes: [{ key: enc(`k${seqno}`), value: enc(`secret ${seqno}`) }] },
    ];
    const entry = encodeEntry(
      {
        kind: EntryKind.transaction,
        view,
        seqno,
        publicWrites,
        privateWrites,
        claimsDigest: ZERO_DIGEST,
        commitEvidenceDigest: commitEvidenceDigest(commitEvidence(ceKey, view, seqno)),
      },
      testSecret,
    );
    ledger.append(entry, seqno, false);
    written++;
    if (written % signEvery === 0) appendSignature(ledger, id, view);
  }
  await ledger.flush();
  return ledger;
}

export function appendSignature(ledger: Ledger, id: Identity, view: number): number {
  const seqno = ledger.lastSeqno + 1;
  const root = ledger.tree.root(seqno - 1);
  const record = {
    view,
    seqno,
    tree_size: seqno - 1,
    root: root.toString("hex"),
    node_id: certificateId(id.nodeCert),
    signature: Buffer.from(
      (id.signRoot ?? ((m) => signP1363(id.node.privateKey, m)))(signedRootMessage(root, view, seqno)),
    ).toString("base64"),
    cert: id.nodeCert,
  };
  const entry = encodeEntry(
    {
      kind: EntryKind.signature,
      view,
      seqno,
      publicWrites: signatureWriteSet(record),
      privateWrites: [],
      claimsDigest: ZERO_DIGEST,
      commitEvidenceDigest: ZERO_DIGEST,
    },
    null,
  );
  ledger.append(entry, seqno, true);
  return seqno;
}

/**
 * Both verifiers (`coterie ledger verify` and the browser's) on `dir`, from `snapshot` when given:
 * the same report, or the same refusal word for word (`serviceCertPem` omitted: learnt as each does).
 */
export async function bothVerifiers(
  dir: string,
  serviceCertPem?: string,
  snapshot?: Buffer,
): Promise<VerifyReport | Error> {
  const chunks = readdirSync(dir).map((name) => ({
    name,
    bytes: new Uint8Array(readFileSync(join(dir, name))),
  }));
  const options = {
    ...(serviceCertPem === undefined ? {} : { serviceCertPem }),
    ...(snapshot === undefined ? {} : { snapshot }),
  };
  let node: VerifyReport | Error;
  let browser: unknown;
  try {
    node = verifyLedgerDirectory(dir, options);
  } catch (e) {
    node = e as Error;
  }
  try {
    browser = await verifyLedgerChunks(chunks, {
      ...options,
      ...(snapshot === undefined ? {} : { snapshot: new Uint8Array(snapshot) }),
    });
  } catch (e) {
    browser = e;
  }
  if (node instanceof Error) {
    assert.ok(
      browser instanceof Error,
      `the browser verifier accepted what the CLI refused: ${node.message}`,
    );
    assert.equal(browser.message, node.message);
    assert.deepEqual((browser as { details?: unknown }).details, (node as { details?: unknown }).details);
  } else {
    assert.deepEqual(browser, node);
  }
  return node;
}
