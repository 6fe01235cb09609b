/**
 * Sample app: a confidential supply chain. Suppliers, retailers and auditors are users whose
 * `user_data` governance sets: `{ "party": "supplier-a", "role": "supplier" }`, or for an auditor
 * `{ "party": "auditor-1", "role": "auditor", "audits": ["supplier-a", "retailer-x"] }`.
 *
 * Orders, shipments and invoices are records of three confidential tables, each readable by its
 * `supplier` and `retailer` (and so by their auditors). The handlers contain no access checks for
 * reading: the framework hides every record the caller may not read on every read path, so a
 * hidden record answers exactly like a missing one. The same source runs built in
 * (`--app supply-chain`) and as a governed bundle (`coterie app build apps/supply-chain`).
 */
import {
  type AppRequest,
  CoterieError,
  confidentialTable,
  defineApp,
  type Endpoint,
  type HandlerContext,
  utf8,
} from "../../src/app/index.ts";

type Party = { party: string; role: "supplier" | "retailer" | "auditor" };
type Line = { sku: string; qty: number };
export type Order = {
  id: string;
  supplier: string;
  retailer: string;
  items: Line[];
  total: number;
  status: string;
};
export type Shipment = { id: string; order_id: string; supplier: string; retailer: string; carrier: string };
export type Invoice = { id: string; order_id: string; supplier: string; retailer: string; amount: number };

const readableBy = ["supplier", "retailer"];
export const orders = confidentialTable<Order>("supply.orders", utf8, { readableBy });
export const shipments = confidentialTable<Shipment>("supply.shipments", utf8, { readableBy });
export const invoices = confidentialTable<Invoice>("supply.invoices", utf8, { readableBy });

const ref = { type: "string", pattern: "^[A-Za-z0-9_-]{1,64}$" };
const partyName = { type: "string", pattern: "^[a-z0-9-]{1,64}$" };
const pageLimitMax = 100;

function me(ctx: HandlerContext, role: Party["role"]): string {
  const data = (ctx.caller as { data?: Partial<Party> }).data;
  if (data?.role !== role || typeof data.party !== "string") {
    throw new CoterieError("COTERIE_ERR_FORBIDDEN", `only a ${role} may do this`);
  }
  return data.party;
}

function body<T>(request: AppRequest): T {
  return request.json() as T;
}

function notFound(kind: string, id: string): CoterieError {
  return new CoterieError("COTERIE_ERR_NOT_FOUND", `no ${kind} with id ${id}`);
}

/** The order a supplier acts on; hidden and missing orders give the same 404. */
function orderOf(ctx: HandlerContext, id: string): Order {
  const order = orders.in(ctx.tx).get(id);
  if (order === undefined) throw notFound("order", id);
  return order;
}

const placeOrder: Endpoint = {
  method: "POST",
  path: "/orders",
  auth: ["user_cert"],
  mode: "readwrite",
  summary: "A retailer orders from a supplier; the order id is supplier:retailer:ref.",
  requestSchema: {
    type: "object",
    required: ["supplier", "ref", "items", "total"],
    additionalProperties: false,
    properties: {
      supplier: partyName,
      ref,
      total: { type: "number", minimum: 0 },
      items: {
        type: "array",
        minItems: 1,
        maxItems: 100,
        items: {
          type: "object",
          required: ["sku", "qty"],
          properties: { sku: ref, qty: { type: "integer", minimum: 1 } },
        },
      },
    },
  },
  responseSchema: { type: "object", properties: { id: { type: "string" } } },
  handler(ctx) {
    const retailer = me(ctx, "retailer");
    const b = body<{ supplier: string; ref: string; items: Line[]; total: number }>(ctx.request);
    const id = `${b.supplier}:${retailer}:${b.ref}`;
    if (orders.in(ctx.tx).has(id)) throw new CoterieError("COTERIE_ERR_INVALID_INPUT", `order ${id} exists`);
    orders
      .in(ctx.tx)
      .put(id, { id, supplier: b.supplier, retailer, items: b.items, total: b.total, status: "placed" });
    return { body: { id } };
  },
};

function supplierRecord(kind: "shipment" | "invoice"): Endpoint {
  const extra = kind === "shipment" ? { carrier: ref } : { amount: { type: "number", minimum: 0 } };
  return {
    method: "POST",
    path: `/${kind}s`,
    auth: ["user_cert"],
    mode: "readwrite",
    summary: `The supplier of an order records a ${kind} for it.`,
    requestSchema: {
      type: "object",
      required: ["order_id", "ref", ...Object.keys(extra)],
      additionalProperties: false,
      properties: { order_id: { type: "string", maxLength: 200 }, ref, ...extra },
    },
    handler(ctx) {
      const supplier = me(ctx, "supplier");
      const b = body<{ order_id: string; ref: string; carrier?: string; amount?: number }>(ctx.request);
      const order = orderOf(ctx, b.order_id);
      if (order.supplier !== supplier) throw notFound("order", b.order_id);
      const id = `${b.order_id}:${b.ref}`;
      const common = { id, order_id: order.id, supplier, retailer: order.retailer };
      if (kind === "shipment") {
        shipments.in(ctx.tx).put(id, { ...common, carrier: b.carrier as string });
        orders.in(ctx.tx).put(order.id, { ...order, status: "shipped" });
      } else invoices.in(ctx.tx).put(id, { ...common, amount: b.amount as number });
      return { body: { id } };
    },
  };
}

const tables = { order: orders, shipment: shipments, invoice: invoices } as const;

function readOne(kind: keyof typeof tables): Endpoint {
  return {
    method: "GET",
    path: `/${kind}s/{id}`,
    auth: ["user_cert"],
    mode: "readonly",
    summary: `One ${kind}, if the caller is a party to it or audits one.`,
    handler(ctx) {
      const id = ctx.request.params.id as string;
      const record = tables[kind].in(ctx.tx).get(id);
      if (record === undefined) throw notFound(kind, id);
      return { body: record };
    },
  };
}

function list(kind: keyof typeof tables): Endpoint {
  return {
    method: "GET",
    path: `/${kind}s`,
    auth: ["user_cert"],
    mode: "readonly",
    summary: `The ${kind}s the caller may see, in id order; ?limit=&cursor= to page.`,
    handler(ctx) {
      const limit = Math.min(
        Number(ctx.request.query.get("limit") ?? pageLimitMax) || pageLimitMax,
        pageLimitMax,
      );
      const cursor = ctx.request.query.get("cursor");
      const page = tables[kind].in(ctx.tx).range(cursor === null ? { limit } : { limit, cursor });
      const items = page.entries.map(([, v]) => v);
      return { body: page.cursor === undefined ? { items } : { items, cursor: page.cursor } };
    },
  };
}

function seqnoParam(ctx: HandlerContext, name: string, fallback: number): number {
  const raw = ctx.request.query.get(name);
  if (raw === null) return fallback;
  if (!/^\d{1,15}$/.test(raw) || Number(raw) < 1)
    throw new CoterieError("COTERIE_ERR_INVALID_INPUT", `${name} must be a positive integer`);
  return Number(raw);
}

const orderHistory: Endpoint = {
  method: "GET",
  path: "/orders/{id}/history",
  auth: ["user_cert"],
  mode: "historical",
  summary: "Every committed version of an order the caller may see.",
  handler(ctx) {
    const id = ctx.request.params.id as string;
    const to = seqnoParam(ctx, "to_seqno", Math.max(ctx.historical.committedSeqno, 1));
    const versions = ctx.historical.writes(
      orders.name,
      utf8.encode(id),
      seqnoParam(ctx, "from_seqno", 1),
      to,
    );
    if (versions.length === 0) throw notFound("order", id);
    const decode = (v: Uint8Array | null) => (v === null ? null : (JSON.parse(utf8.decode(v)) as Order));
    return {
      body: {
        id,
        versions: versions.map((w) => ({ transaction_id: w.transactionId, order: decode(w.value) })),
      },
    };
  },
};

const ordersLog: Endpoint = {
  method: "GET",
  path: "/history/orders",
  auth: ["user_cert"],
  mode: "historical",
  summary: "Committed writes to any order the caller may see, from the history index.",
  handler(ctx) {
    const to = seqnoParam(ctx, "to_seqno", Math.max(ctx.historical.committedSeqno, 1));
    const writes = ctx.historical.mapWrites(orders.name, seqnoParam(ctx, "from_seqno", 1), to, pageLimitMax);
    return {
      body: { writes: writes.map((w) => ({ transaction_id: w.transactionId, id: utf8.decode(w.key) })) },
    };
  },
};

export default defineApp({
  name: "supply-chain",
  version: "1.0.0",
  tables: [orders, shipments, invoices],
  endpoints: [
    placeOrder,
    supplierRecord("shipment"),
    supplierRecord("invoice"),
    readOne("order"),
    readOne("shipment"),
    readOne("invoice"),
    list("order"),
    list("shipment"),
    list("invoice"),
    orderHistory,
    ordersLog,
  ],
});
