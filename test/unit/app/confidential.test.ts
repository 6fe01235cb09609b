// The read policy of confidential tables, through a real Store: every read a handler can make
// (get, has, versionOf, range with paging, forEach, typed maps) sees only records the reader may
// read, hidden records look absent, and writes must keep the writer a reader.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { guardedRangePagesMax } from "../../../src/app/guard.ts";
import { confidentialTable, guardTx, mayReadBytes, readerPartiesOf, utf8 } from "../../../src/app/index.ts";
import { Store, Tx } from "../../../src/kv/index.ts";

type Rec = { id: string; supplier: string; retailer: string };
const orders = confidentialTable<Rec>("orders", utf8, { readableBy: ["supplier", "retailer"] });

function seeded(n: number): Store {
  const store = new Store();
  const tx = store.beginTx();
  for (let i = 0; i < n; i++) {
    const id = `o${String(i).padStart(4, "0")}`;
    orders
      .in(tx)
      .put(id, { id, supplier: i % 3 === 0 ? "s-a" : "s-b", retailer: i % 2 === 0 ? "r-x" : "r-y" });
  }
  assert.equal(store.commit(tx).status, "ok");
  return store;
}

/** The naive model: which ids a reader may see. */
function expected(n: number, readers: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = { supplier: i % 3 === 0 ? "s-a" : "s-b", retailer: i % 2 === 0 ? "r-x" : "r-y" };
    if (readers.includes(r.supplier) || readers.includes(r.retailer))
      out.push(`o${String(i).padStart(4, "0")}`);
  }
  return out;
}

describe("confidential tables", () => {
  test("readerPartiesOf: party and audits from user/member data, JWT party claim, all_of union", () => {
    assert.deepEqual(
      readerPartiesOf({ policy: "user_cert", id: "u", data: { party: "s-a", audits: ["r-x", 5] } }),
      ["s-a", "r-x"],
    );
    assert.deepEqual(readerPartiesOf({ policy: "member_cert", id: "m", data: null }), []);
    assert.deepEqual(
      readerPartiesOf({ policy: "jwt", issuer: "i", subject: null, claims: { party: "r-y" } }),
      ["r-y"],
    );
    assert.deepEqual(readerPartiesOf({ policy: "no_auth" }), []);
    assert.deepEqual(
      readerPartiesOf({
        policy: "all_of",
        callers: [
          { policy: "user_cert", id: "u", data: { party: "a" } },
          { policy: "jwt", issuer: "i", subject: null, claims: { party: "b" } },
        ],
      }),
      ["a", "b"],
    );
  });

  test("mayReadBytes: arrays of parties, malformed records and empty readers name nobody", () => {
    const spec = { name: "t", readableBy: ["parties"] };
    const enc = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
    assert.equal(mayReadBytes(spec, enc({ parties: ["a", "b"] }), ["b"]), true);
    assert.equal(mayReadBytes(spec, enc({ parties: ["a"] }), ["b"]), false);
    assert.equal(mayReadBytes(spec, enc({ parties: "a" }), []), false);
    assert.equal(mayReadBytes(spec, new Uint8Array([0xff]), ["a"]), false);
    assert.equal(mayReadBytes(spec, enc(["a"]), ["a"]), false);
  });

  test("confidentialTable refuses public maps and bad field names", () => {
    assert.throws(() => confidentialTable("public:x", utf8, { readableBy: ["a"] }), /public/);
    assert.throws(() => confidentialTable("x", utf8, { readableBy: [] }), /readableBy/);
    assert.throws(() => confidentialTable("x", utf8, { readableBy: ["a.b"] }), /bad field/);
  });

  test("direct reads: hidden records are absent for get, has and versionOf", () => {
    const store = seeded(12);
    const tx = guardTx(store.beginTx(), [orders], ["r-x"]);
    assert.equal(orders.in(tx).get("o0000")?.retailer, "r-x");
    assert.equal(orders.in(tx).get("o0001"), undefined);
    assert.equal(orders.in(tx).has("o0001"), false);
    assert.equal(orders.in(tx).versionOf("o0001"), undefined);
    assert.equal(typeof orders.in(tx).versionOf("o0000"), "number");
    // The raw reads a handler can reach on the transaction itself, the latin1 one included.
    const key = (id: string) => new TextEncoder().encode(id);
    assert.equal(tx.get(orders.name, key("o0001")), undefined);
    assert.equal(tx.has(orders.name, key("o0001")), false);
    assert.equal(tx.getLatin1(orders.name, "o0001"), undefined);
    assert.notEqual(tx.getLatin1(orders.name, "o0000"), undefined);
    // An unguarded transaction (the framework's own) sees everything.
    assert.equal(orders.in(store.beginTx()).has("o0001"), true);
    assert.notEqual(store.beginTx().getLatin1(orders.name, "o0001"), undefined);
  });

  test("every method of Tx is either shadowed by the guard or touches no stored record", () => {
    // The guard shadows methods by name. A read method added to Tx without a shadow would read
    // hidden records (it happened once, with getLatin1), a write method without one would write
    // past the write policy: this makes either a failing test.
    const notRecordReads: Record<string, string> = {
      constructor: "not a method",
      contentToken: "an identity token for caches; no key or value (records no read either)",
      hasWrites: "this transaction's own writes",
      writeSet: "this transaction's own writes",
      typed: "a view whose reads go through the shadowed get, getLatin1, has, versionOf, range, forEach",
      isFinished: "state of the transaction",
      finish: "called by the store at commit",
    };
    const guarded = guardTx(seeded(2).beginTx(), [orders], ["r-x"]);
    const shadowed = Object.keys(guarded).filter(
      (name) => typeof (guarded as unknown as Record<string, unknown>)[name] === "function",
    );
    const methods = Object.getOwnPropertyNames(Tx.prototype).filter((name) => {
      const d = Object.getOwnPropertyDescriptor(Tx.prototype, name);
      return d !== undefined && (typeof d.value === "function" || d.get !== undefined);
    });
    // TypeScript-private helpers: a handler written in TypeScript cannot call them, but they read
    // unguarded, so a new one must be looked at too (listed exactly).
    const privateHelpers = [
      "checkOpen",
      "checkValueBytes",
      "lookup",
      "rangeQuery",
      "readKey",
      "sources",
      "write",
    ];
    const unaccounted = methods.filter((m) => !shadowed.includes(m) && !(m in notRecordReads));
    assert.deepEqual(
      unaccounted.sort(),
      privateHelpers,
      "shadow a new read or write method in src/app/guard.ts (and test it here), or list why it touches no record",
    );
    for (const m of [
      "get",
      "getLatin1",
      "has",
      "versionOf",
      "range",
      "forEach",
      "put",
      "putLatin1",
      "delete",
    ])
      assert.ok(shadowed.includes(m), `${m} is shadowed`);
  });

  for (const readers of [["r-x"], ["s-a"], ["s-a", "r-y"], ["nobody"], []]) {
    for (const limit of [1, 3, 50]) {
      test(`range pages for readers ${JSON.stringify(readers)} limit ${limit} match the naive model, both directions`, () => {
        const n = 40;
        const store = seeded(n);
        for (const reverse of [false, true]) {
          const tx = guardTx(store.beginTx(), [orders], readers);
          const seen: string[] = [];
          let cursor: string | undefined;
          for (let pages = 0; pages < 100; pages++) {
            const page = orders
              .in(tx)
              .range({ limit, ...(cursor ? { cursor } : {}), ...(reverse ? { reverse } : {}) });
            assert.ok(page.entries.length <= limit);
            seen.push(...page.entries.map(([k]) => k));
            cursor = page.cursor;
            if (cursor === undefined) break;
          }
          const want = expected(n, readers);
          assert.deepEqual(seen, reverse ? [...want].reverse() : want);
          const each: string[] = [];
          orders.in(tx).forEach((k) => {
            each.push(k);
          });
          assert.deepEqual(each, want);
        }
      });
    }
  }

  test("a range over many hidden records answers within its page budget, with a cursor", () => {
    const store = seeded(guardedRangePagesMax * 2 + 10);
    const tx = guardTx(store.beginTx(), [orders], ["nobody"]);
    const page = orders.in(tx).range({ limit: 1 });
    assert.deepEqual(page.entries, []);
    assert.ok(page.cursor !== undefined, "more may follow");
  });

  test("bounded range with from/to, and a cursor from another range is refused", () => {
    const store = seeded(30);
    const tx = guardTx(store.beginTx(), [orders], ["s-a"]);
    const page = orders.in(tx).range({ from: "o0003", to: "o0013", limit: 10 });
    assert.deepEqual(
      page.entries.map(([k]) => k),
      ["o0003", "o0006", "o0009", "o0012"],
    );
    const first = orders.in(tx).range({ limit: 1 });
    assert.throws(
      () => orders.in(tx).range({ from: "o0020", limit: 1, cursor: first.cursor as string }),
      /another query/,
    );
    assert.throws(() => orders.in(tx).range({ limit: 1, cursor: "garbage" }), /malformed cursor/);
  });

  test("writes: a record must name the writer's party; a hidden record cannot be overwritten or deleted", () => {
    const store = seeded(4);
    const tx = guardTx(store.beginTx(), [orders], ["r-x"]);
    // Typed puts write through putLatin1, raw ones through put: both are held to the policy.
    const bytes = (rec: Rec) => new TextEncoder().encode(JSON.stringify(rec));
    const key = (id: string) => new TextEncoder().encode(id);
    assert.throws(
      () => tx.put(orders.name, key("raw"), bytes({ id: "raw", supplier: "s-z", retailer: "r-q" })),
      /name one of your parties/,
    );
    assert.throws(
      () => tx.put(orders.name, key("o0001"), bytes({ id: "o0001", supplier: "s-z", retailer: "r-x" })),
      /name one of your parties/,
    );
    assert.throws(
      () =>
        tx.putLatin1(orders.name, "o0001", JSON.stringify({ id: "o0001", supplier: "s-z", retailer: "r-x" })),
      /name one of your parties/,
    );
    assert.throws(() => tx.putLatin1(orders.name, "o\u0100", "{}"), /key must be a latin1 string/);
    orders.in(tx).put("new", { id: "new", supplier: "s-z", retailer: "r-x" });
    assert.throws(
      () => orders.in(tx).put("other", { id: "other", supplier: "s-z", retailer: "r-q" }),
      /COTERIE_ERR_FORBIDDEN|name one of your parties/,
    );
    assert.throws(
      () => orders.in(tx).put("o0001", { id: "o0001", supplier: "s-z", retailer: "r-x" }),
      /name one of your parties/,
    );
    assert.throws(() => orders.in(tx).delete("o0001"), /name one of your parties/);
    orders.in(tx).delete("o0000");
    assert.equal(store.commit(tx).status, "ok");
  });

  test("other maps are not filtered", () => {
    const store = new Store();
    const tx0 = store.beginTx();
    tx0.typed("plain", utf8, utf8).put("k", "v");
    store.commit(tx0);
    const tx = guardTx(store.beginTx(), [orders], []);
    assert.equal(tx.typed("plain", utf8, utf8).get("k"), "v");
  });
});
