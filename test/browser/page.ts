// The page the browser test loads (bundled with esbuild, no Node polyfills): it uses the SDK to
// verify a receipt and the ledger chunks of a real node (and of a node with a P-256 key, with the
// COSE form of its receipt), checks that tampered copies are refused,
// signs a governance ballot with a non-extractable WebCrypto key, and shows pass/fail per check.
// A person can also open it and pick chunk files from disk (the file input).
import {
  createIdentity,
  fixedBallot,
  signGovRequest,
  verifyLedgerChunks,
  verifyReceipt,
} from "../../src/client/index.ts";
import { decodeCoseSign1, verifyCoseSign1 } from "../../src/crypto/cose.ts";
import { verifyCoseReceipt } from "../../src/crypto/cose-receipt.ts";
import type { Receipt } from "../../src/crypto/receipt.ts";

type NodeFixture = {
  serviceCert: string;
  receipt: Record<string, unknown>;
  chunks: { name: string; base64: string }[];
};
type Fixture = NodeFixture & { p256: NodeFixture & { cose: string } };
type Check = { name: string; run: () => Promise<string> };

const fromBase64 = (b64: string) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));

async function refusedWith(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (e) {
    return `refused (${(e as { code?: string }).code ?? (e as Error).message})`;
  }
  throw new Error("accepted a tampered input");
}

/** A node with a P-256 key: its receipt (JSON and COSE, ES256) and its ledger. */
function p256Checks(f: Fixture["p256"]): Check[] {
  const receipt = f.receipt as Receipt;
  return [
    {
      name: "P-256 node: receipt verifies",
      run: async () => {
        const v = await verifyReceipt(receipt, f.serviceCert);
        return `ok ${v.transactionId}, ${fromBase64(receipt.signature).length}-byte signature`;
      },
    },
    {
      name: "P-256 node: tampered receipt is refused",
      run: () => {
        const signature = fromBase64(receipt.signature);
        signature[3] = (signature[3] as number) ^ 1;
        const bad = { ...receipt, signature: btoa(String.fromCharCode(...signature)) };
        return refusedWith(verifyReceipt(bad, f.serviceCert));
      },
    },
    {
      name: "P-256 node: COSE receipt verifies",
      run: async () => {
        const cose = fromBase64(f.cose);
        const v = await verifyCoseReceipt(cose, receipt.leaf_components, receipt.cert, f.serviceCert);
        return `ok ${decodeCoseSign1(cose).alg === -7 ? "ES256" : "not ES256"} ${v.transactionId}`;
      },
    },
    {
      name: "P-256 node: ledger chunks verify",
      run: async () => {
        const chunks = f.chunks.map((c) => ({ name: c.name, bytes: fromBase64(c.base64) }));
        const r = await verifyLedgerChunks(chunks, { serviceCertPem: f.serviceCert });
        return `ok ${r.entries} entries, ${r.signatures} signatures`;
      },
    },
  ];
}

function checks(f: Fixture): Check[] {
  const chunks = () => f.chunks.map((c) => ({ name: c.name, bytes: fromBase64(c.base64) }));
  return [
    {
      name: "receipt verifies",
      run: async () => `ok ${(await verifyReceipt(f.receipt, f.serviceCert)).transactionId}`,
    },
    {
      name: "tampered receipt is refused",
      run: () => {
        const root = f.receipt.root as string;
        const bad = { ...f.receipt, root: (root[0] === "0" ? "1" : "0") + root.slice(1) };
        return refusedWith(verifyReceipt(bad, f.serviceCert));
      },
    },
    {
      name: "ledger chunks verify",
      run: async () => {
        const r = await verifyLedgerChunks(chunks(), { serviceCertPem: f.serviceCert });
        return `ok ${r.entries} entries, ${r.signatures} signatures`;
      },
    },
    {
      name: "tampered ledger chunk is refused",
      run: () => {
        const cs = chunks();
        const last = cs[cs.length - 1] as { bytes: Uint8Array };
        const at = Math.floor(last.bytes.length / 2);
        last.bytes[at] = (last.bytes[at] as number) ^ 1;
        return refusedWith(verifyLedgerChunks(cs, { serviceCertPem: f.serviceCert }));
      },
    },
    {
      name: "ballot signed with a non-extractable key",
      run: async () => {
        const id = await createIdentity("browser member");
        if (id.privateKey.extractable) throw new Error("the key is extractable");
        const msg = decodeCoseSign1(
          await signGovRequest(id.signer, "ballot", fixedBallot(true), { proposalId: "p1" }),
        );
        const jwk = await crypto.subtle.exportKey("jwk", await publicKeyOf(id.certPem));
        await verifyCoseSign1(msg, jwk);
        return "ok ES384";
      },
    },
  ];
}

async function publicKeyOf(certPem: string): Promise<CryptoKey> {
  const { X509Certificate } = await import("@peculiar/x509");
  const cert = new X509Certificate(certPem);
  return cert.publicKey.export({ name: "ECDSA", namedCurve: "P-384" }, ["verify"], crypto);
}

async function run(): Promise<void> {
  const table = document.getElementById("results") as HTMLTableElement;
  const status = document.getElementById("status") as HTMLElement;
  const fixture = (await (await fetch("/fixture.json")).json()) as Fixture;
  let failed = 0;
  for (const check of [...checks(fixture), ...p256Checks(fixture.p256)]) {
    const row = table.insertRow();
    row.insertCell().textContent = check.name;
    try {
      row.insertCell().textContent = `PASS ${await check.run()}`;
      row.className = "pass";
    } catch (e) {
      failed++;
      row.insertCell().textContent = `FAIL ${(e as Error).message}`;
      row.className = "fail";
    }
  }
  status.textContent = failed === 0 ? "DONE: all checks passed" : `DONE: ${failed} checks failed`;
}

function wirePicker(): void {
  const input = document.getElementById("chunks") as HTMLInputElement;
  const out = document.getElementById("picked") as HTMLElement;
  input.addEventListener("change", async () => {
    const files = Array.from(input.files ?? []);
    const picked = await Promise.all(
      files.map(async (f) => ({ name: f.name, bytes: new Uint8Array(await f.arrayBuffer()) })),
    );
    try {
      const r = await verifyLedgerChunks(picked);
      out.textContent = `PASS: ${r.entries} entries, ${r.signatures} signatures, last signed seqno ${r.lastSignedSeqno}`;
    } catch (e) {
      out.textContent = `FAIL: ${(e as Error).message}`;
    }
  });
}

wirePicker();
run().catch((e: unknown) => {
  (document.getElementById("status") as HTMLElement).textContent = `DONE: error ${(e as Error).message}`;
});
