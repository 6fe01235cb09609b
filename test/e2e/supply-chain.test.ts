// The confidentiality matrix against a real node process: for every party (two suppliers, two
// retailers, one auditor, and outsiders) and every read path (direct read, list, key history, map
// history, receipt), exactly the records the party may see are visible, and every hidden record
// answers byte-for-byte like a record that does not exist. Run for the built-in app and for the
// same source built as a bundle and served from the sandbox.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { ensureIdentityFiles, type IdentityFiles } from "../../src/cli/identity-files.ts";
import {
  type Client,
  client,
  killNode,
  makeWorkspace,
  type NodeProcess,
  startNodeProcess,
  type Workspace,
} from "./harness.ts";
import { buildBundleFile } from "./supply-chain-support.ts";

type Party = { name: string; data: Record<string, unknown> | null };
export const parties: Party[] = [
  { name: "supplier-a", data: { party: "supplier-a", role: "supplier" } },
  { name: "supplier-b", data: { party: "supplier-b", role: "supplier" } },
  { name: "retailer-x", data: { party: "retailer-x", role: "retailer" } },
  { name: "retailer-y", data: { party: "retailer-y", role: "retailer" } },
  { name: "auditor-1", data: { party: "auditor-1", role: "auditor", audits: ["supplier-a"] } },
  { name: "nobody", data: { role: "retailer" } }, // a user with no party assigned
];
const pairs = [
  ["supplier-a", "retailer-x"],
  ["supplier-a", "retailer-y"],
  ["supplier-b", "retailer-x"],
  ["supplier-b", "retailer-y"],
] as const;

/** The rule under test, written independently of the framework. */
function maySee(viewer: string, supplier: string, retailer: string): boolean {
  if (viewer === supplier || viewer === retailer) return true;
  const audits = (parties.find((p) => p.name === viewer)?.data?.audits ?? []) as string[];
  return audits.includes(supplier) || audits.includes(retailer);
}

type Written = {
  supplier: string;
  retailer: string;
  orderId: string;
  shipmentId: string;
  invoiceId: string;
  txIds: string[];
};

export async function startSupplyChain(app: string): Promise<{
  node: NodeProcess;
  clients: Map<string, Client>;
  stranger: Client;
  ws: Workspace;
  ids: Map<string, IdentityFiles>;
}> {
  const ws = await makeWorkspace({
    genesis: {
      members: [{ cert: "member0_cert.pem" }],
      users: parties.map((p) => ({ cert: `${p.name}_cert.pem`, ...(p.data ? { data: p.data } : {}) })),
      open: true,
    },
  });
  const ids = new Map<string, IdentityFiles>();
  for (const p of parties) ids.set(p.name, await ensureIdentityFiles(ws.dir, p.name));
  const node = await startNodeProcess(ws, app);
  const clients = new Map([...ids].map(([name, id]) => [name, client(node, id)]));
  return { node, clients, stranger: client(node, ws.other), ws, ids };
}

async function writeAll(clients: Map<string, Client>): Promise<Written[]> {
  const out: Written[] = [];
  for (const [supplier, retailer] of pairs) {
    const r = clients.get(retailer) as Client;
    const s = clients.get(supplier) as Client;
    const o = await r.post("/app/orders?wait_for_commit=true", {
      supplier,
      ref: "po1",
      items: [{ sku: "bolt", qty: 5 }],
      total: 10,
    });
    assert.equal(o.status, 200, o.body);
    const orderId = o.json().response.id as string;
    const sh = await s.post("/app/shipments?wait_for_commit=true", {
      order_id: orderId,
      ref: "s1",
      carrier: "acme",
    });
    assert.equal(sh.status, 200, sh.body);
    const inv = await s.post("/app/invoices?wait_for_commit=true", {
      order_id: orderId,
      ref: "i1",
      amount: 10,
    });
    assert.equal(inv.status, 200, inv.body);
    const txIds = [o, sh, inv].map((x) => x.json().transaction_id as string);
    out.push({
      supplier,
      retailer,
      orderId,
      shipmentId: sh.json().response.id,
      invoiceId: inv.json().response.id,
      txIds,
    });
  }
  return out;
}

/** What a nonexistent record or transaction answers, with `id` substituted. */
async function absentAnswer(c: Client, path: string): Promise<{ status: number; body: string }> {
  const r = await c.get(path);
  return { status: r.status, body: r.body };
}

export async function checkMatrix(clients: Map<string, Client>, written: Written[]): Promise<number> {
  let checks = 0;
  const view = written[0]?.txIds[0]?.split(".")[0] as string;
  for (const viewer of parties.map((p) => p.name)) {
    const c = clients.get(viewer) as Client;
    const visible = written.filter((w) => maySee(viewer, w.supplier, w.retailer));
    for (const kind of ["orders", "shipments", "invoices"] as const) {
      const list = await c.get(`/app/${kind}`);
      assert.equal(list.status, 200, list.body);
      const want = visible
        .map((w) => (kind === "orders" ? w.orderId : kind === "shipments" ? w.shipmentId : w.invoiceId))
        .sort();
      assert.deepEqual(
        list
          .json()
          .items.map((i: { id: string }) => i.id)
          .sort(),
        want,
        `${viewer} lists ${kind}`,
      );
      checks++;
    }
    const log = await c.get("/app/history/orders");
    assert.equal(log.status, 200, log.body);
    const logged = new Set(log.json().writes.map((w: { id: string }) => w.id));
    assert.deepEqual([...logged].sort(), visible.map((w) => w.orderId).sort(), `${viewer} map history`);
    checks++;
    for (const w of written) {
      const sees = maySee(viewer, w.supplier, w.retailer);
      const paths: Array<[string, string, string]> = [
        [`/app/orders/${w.orderId}`, `/app/orders/${w.orderId}x`, w.orderId],
        [`/app/shipments/${w.shipmentId}`, `/app/shipments/${w.shipmentId}x`, w.shipmentId],
        [`/app/invoices/${w.invoiceId}`, `/app/invoices/${w.invoiceId}x`, w.invoiceId],
        [`/app/orders/${w.orderId}/history`, `/app/orders/${w.orderId}x/history`, w.orderId],
      ];
      for (const [path, absentPath, id] of paths) {
        const r = await c.get(path);
        if (sees) {
          assert.equal(r.status, 200, `${viewer} reads ${path}: ${r.body}`);
          assert.match(r.body, new RegExp(id));
        } else {
          const absent = await absentAnswer(c, absentPath);
          assert.deepEqual(
            { status: r.status, body: r.body },
            { ...absent, body: absent.body.replaceAll(`${id}x`, id) },
            `${viewer} must not see ${path}`,
          );
        }
        checks++;
      }
      for (const txId of w.txIds) {
        for (const format of ["", "&format=cose"]) {
          const r = await c.get(`/app/receipt?transaction_id=${txId}${format}`);
          if (sees) assert.equal(r.status, 200, `${viewer} gets receipt ${txId}${format}: ${r.body}`);
          else {
            const absent = await absentAnswer(c, `/app/receipt?transaction_id=${view}.999999${format}`);
            assert.deepEqual(
              { status: r.status, body: r.body },
              { ...absent, body: absent.body.replaceAll(`${view}.999999`, txId) },
              `${viewer} receipt ${txId}${format}`,
            );
          }
          checks++;
        }
      }
    }
  }
  return checks;
}

async function checkWritesAndOutsiders(
  clients: Map<string, Client>,
  stranger: Client,
  written: Written[],
): Promise<void> {
  const w = written.find((x) => x.supplier === "supplier-a") as Written;
  // Another supplier cannot ship someone else's order: same answer as for a missing order.
  const sb = clients.get("supplier-b") as Client;
  const foreign = await sb.post("/app/shipments", { order_id: w.orderId, ref: "evil", carrier: "x" });
  const missing = await sb.post("/app/shipments", { order_id: `${w.orderId}x`, ref: "evil", carrier: "x" });
  assert.equal(foreign.status, 404);
  assert.equal(foreign.body, missing.body.replaceAll(`${w.orderId}x`, w.orderId));
  // A certificate the service does not know gets 401 everywhere.
  for (const path of [
    "/app/orders",
    `/app/orders/${w.orderId}`,
    `/app/receipt?transaction_id=${w.txIds[0]}`,
  ]) {
    assert.equal((await stranger.get(path)).status, 401, path);
  }
  // Bad input is refused by the endpoint's schema, before the handler runs.
  const bad = await (clients.get("retailer-x") as Client).post("/app/orders", {
    supplier: "supplier-a",
    ref: "p",
    items: [],
    total: 1,
  });
  assert.equal(bad.status, 400);
  assert.equal(bad.json().error.code, "COTERIE_ERR_INVALID_INPUT");
}

for (const kind of ["built in", "bundle"] as const) {
  describe(`supply chain confidentiality (${kind})`, () => {
    let node: NodeProcess;
    let clients: Map<string, Client>;
    let stranger: Client;
    let ws: Workspace;
    let ids: Map<string, IdentityFiles>;
    let app: string;
    let written: Written[] = [];
    before(async () => {
      app = kind === "built in" ? "supply-chain" : await buildBundleFile("apps/supply-chain");
      ({ node, clients, stranger, ws, ids } = await startSupplyChain(app));
    });
    after(async () => {
      for (const c of clients?.values() ?? []) c.close();
      stranger?.close();
      if (node) await killNode(node, "SIGTERM");
    });

    test("every party sees exactly its records on every read path", async () => {
      written = await writeAll(clients);
      const checks = await checkMatrix(clients, written);
      console.log(`# ${kind}: ${checks} (viewer, record, path) checks`);
      assert.ok(checks >= parties.length * written.length * 7);
      await checkWritesAndOutsiders(clients, stranger, written);
    });

    test("after a restart the history index is rebuilt from the ledger: the same matrix holds", async () => {
      assert.ok(written.length > 0, "runs after the matrix test");
      for (const c of clients.values()) c.close();
      stranger.close();
      await killNode(node, "SIGTERM");
      node = await startNodeProcess(ws, app);
      clients = new Map([...ids].map(([name, id]) => [name, client(node, id)]));
      stranger = client(node, ws.other);
      assert.ok((await checkMatrix(clients, written)) > 0);
    });

    test("the OpenAPI description lists every endpoint with its schema", async () => {
      const doc = (await stranger.get("/app/openapi.json")).json();
      assert.equal(doc.openapi, "3.1.0");
      assert.equal(doc.info.title, "supply-chain");
      assert.ok(
        doc.paths["/app/orders"].post.requestBody.content["application/json"].schema.required.includes(
          "supplier",
        ),
      );
      assert.deepEqual(doc.paths["/app/orders/{id}"].get.parameters[0].name, "id");
      assert.deepEqual(doc.paths["/app/orders"].get.security, [{ user_cert: [] }]);
    });
  });
}
