// The SDK where users use it: Debian's Chromium, driven by playwright-core, loads a page that
// verifies a receipt and the ledger chunks of a real node with the bundled SDK (no Node
// polyfills) — and those of a node with a P-256 key, with that receipt's COSE form (ES256) —
// refuses tampered copies, and signs a ballot with a non-extractable key. The test
// checks the page text and keeps a screenshot and the bundle report under test-results/browser/.
// Without Chromium (and no root to install it) the test skips and says why.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { chromium } from "playwright-core";
import { createNodeClient } from "../../src/client/node.ts";
import type { Receipt } from "../../src/crypto/receipt.ts";
import { killNode, makeWorkspace, root, startNodeProcess } from "../e2e/harness.ts";
import { bundle, sizeByPackage } from "./bundle.ts";

const results = join(root, "test-results", "browser");
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

function ensureChromium(): { path: string } | { reason: string } {
  const r = spawnSync(join(root, "tools/ensure-chromium.sh"), { encoding: "utf8", timeout: 600_000 });
  if (r.status === 0) return { path: r.stdout.trim() };
  return { reason: r.stderr.trim() || `tools/ensure-chromium.sh exited with ${r.status}` };
}

/**
 * A receipt and the ledger chunks of a real node, after a few writes and a clean stop; with
 * `config` (e.g. a P-256 node key) also the receipt's COSE form, as the node served it.
 */
async function nodeFixture(config?: Record<string, unknown>): Promise<Record<string, unknown>> {
  const ws = await makeWorkspace(config);
  const node = await startNodeProcess(ws);
  const read = (p: string) => readFileSync(p, "utf8");
  const client = await createNodeClient({
    url: node.url,
    serviceCert: node.serviceCert,
    cert: read(ws.user.certPath),
    key: read(ws.user.keyPath),
  });
  let receipt: unknown;
  for (let i = 0; i < 4; i++)
    receipt = (await client.write("/app/log/public", { id: i, msg: `m${i}` }, { waitForCommit: true }))
      .receipt;
  const served = await client.getCoseReceipt((receipt as Receipt).transaction_id);
  await client.close();
  await killNode(node, "SIGTERM");
  const dir = join(ws.dir, "node0", "ledger");
  const chunks = readdirSync(dir)
    .filter((n) => n.endsWith(".chunk"))
    .map((name) => ({ name, base64: readFileSync(join(dir, name)).toString("base64") }));
  if (config === undefined) return { serviceCert: node.serviceCert, receipt, chunks };
  return { serviceCert: node.serviceCert, receipt, chunks, cose: served.cose_receipt };
}

function serve(files: Record<string, [type: string, body: string]>): Promise<Server> {
  const server = createServer((req, res) => {
    const file = files[req.url ?? ""];
    res.writeHead(file ? 200 : 404, { "content-type": file?.[0] ?? "text/plain" });
    res.end(file?.[1] ?? "not found");
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

test("the SDK bundle for browsers has no Node polyfills; its size is reported", async () => {
  const sdk = await bundle(join(root, "src/client/index.ts"));
  assert.deepEqual(sdk.polyfills, []);
  assert.ok(sdk.inputs.some((i) => i.endsWith("src/client/index.ts")));
  // The Node adapter (undici) stays out of the browser graph.
  assert.deepEqual(
    sdk.inputs.filter((i) => /node_modules\/undici\/|src\/client\/node\.ts$/.test(i)),
    [],
  );
  const report = {
    sdkBytes: sdk.bytes,
    sdkGzipBytes: sdk.gzipBytes,
    byPackage: await sizeByPackage(join(root, "src/client/index.ts")),
  };
  mkdirSync(results, { recursive: true });
  writeFileSync(join(results, "bundle-report.json"), `${JSON.stringify(report, null, 2)}\n`);
  console.log(`# coterie/client browser bundle: ${sdk.bytes} bytes minified, ${sdk.gzipBytes} gzipped`);
  // A budget, so growth is a decision: @peculiar/x509 and its ASN.1 stack are most of it.
  assert.ok(sdk.bytes < 400_000, `bundle is ${sdk.bytes} bytes`);
});

test("Chromium verifies a real node's receipt and ledger with the SDK", async (t) => {
  const chromiumPath = ensureChromium();
  if ("reason" in chromiumPath) {
    console.log(`# skipping the browser test: ${chromiumPath.reason}`);
    t.skip(chromiumPath.reason);
    return;
  }
  const page = await bundle(join(import.meta.dirname, "page.ts"));
  assert.deepEqual(page.polyfills, []);
  const server = await serve({
    "/": ["text/html", readFileSync(join(import.meta.dirname, "page.html"), "utf8")],
    "/page.js": ["text/javascript", page.code],
    "/fixture.json": [
      "application/json",
      JSON.stringify({ ...(await nodeFixture()), p256: await nodeFixture({ nodeKey: { curve: "P-256" } }) }),
    ],
  });
  const userDataDir = mkdtempSync(join(tmpdir(), "coterie-chromium-"));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: chromiumPath.path,
    headless: true,
    args: CHROMIUM_ARGS,
  });
  try {
    const tab = await context.newPage();
    const errors: string[] = [];
    tab.on("pageerror", (e) => errors.push(e.message));
    await tab.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    await tab.waitForFunction(
      () => document.getElementById("status")?.textContent?.startsWith("DONE"),
      null,
      { timeout: 30_000 },
    );
    mkdirSync(results, { recursive: true });
    await tab.screenshot({ path: join(results, "client-sdk.png"), fullPage: true });
    // biome-ignore lint/performance/useDomNodeTextContent: the rendered text (cells apart) is what a person sees
    const text = await tab.innerText("body");
    assert.deepEqual(errors, []);
    assert.match(text, /DONE: all checks passed/, text);
    assert.match(text, /receipt verifies\s+PASS ok \d+\.\d+/);
    assert.match(text, /tampered receipt is refused\s+PASS refused \(COTERIE_ERR_RECEIPT_BAD_PROOF\)/);
    assert.match(text, /ledger chunks verify\s+PASS ok \d+ entries, \d+ signatures/);
    assert.match(
      text,
      /tampered ledger chunk is refused\s+PASS refused \(COTERIE_ERR_LEDGER_VERIFY_FAILED\)/,
    );
    assert.match(text, /ballot signed with a non-extractable key\s+PASS ok ES384/);
    assert.match(text, /P-256 node: receipt verifies\s+PASS ok \d+\.\d+, 64-byte signature/);
    assert.match(
      text,
      /P-256 node: tampered receipt is refused\s+PASS refused \(COTERIE_ERR_RECEIPT_BAD_SIGNATURE\)/,
    );
    assert.match(text, /P-256 node: COSE receipt verifies\s+PASS ok ES256 \d+\.\d+/);
    assert.match(text, /P-256 node: ledger chunks verify\s+PASS ok \d+ entries, \d+ signatures/);
  } finally {
    await context.close();
    server.close();
    rmSync(userDataDir, { recursive: true, force: true });
  }
});
