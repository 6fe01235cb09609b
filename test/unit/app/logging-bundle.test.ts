// The sample logging app built as a governed bundle behaves as built in: a private write is
// stored and read back, and an over-long message is refused with the same error. (It once used
// Node's `Buffer`, which the sandbox does not have, so every bundle write failed with a 500.)
import assert from "node:assert/strict";
import { join, resolve } from "node:path";
import { after, test } from "node:test";
import logging from "../../../apps/logging/index.ts";
import { type App, guardTx, type HandlerContext, type HttpMethod } from "../../../src/app/index.ts";
import { buildAppBundle } from "../../../src/cli/app.ts";
import { Store } from "../../../src/kv/index.ts";
import { appCrypto } from "../../../src/node/app-runner.ts";
import { loadBundle } from "../../../src/node/bundle.ts";

const root = resolve(import.meta.dirname, "../../..");
const bundle = loadBundle(await buildAppBundle(join(root, "apps/logging")));
after(() => bundle.dispose());

function call(app: App, store: Store, method: HttpMethod, path: string, query: string, body: unknown) {
  const endpoint = app.endpoints.find((e) => e.method === method && e.path === path);
  assert.ok(endpoint, `${method} ${path}`);
  const tx = store.beginTx({ reservedWrites: false });
  const bytes = new TextEncoder().encode(JSON.stringify(body));
  const ctx: HandlerContext = {
    request: {
      method,
      path: `/app${path}`,
      params: {},
      query: new URLSearchParams(query),
      headers: {},
      body: bytes,
      json: () => body,
    },
    caller: { policy: "user_cert", id: "u", data: null },
    readerParties: [],
    tx: guardTx(tx, app.tables ?? [], []),
    setClaimsDigest() {},
    historical: { committedSeqno: 0, writes: () => [], mapWrites: () => [] },
    crypto: appCrypto,
    untrustedTime: () => 1,
  };
  let out: unknown;
  try {
    out = endpoint.handler(ctx);
  } catch (error) {
    return { code: (error as { code?: string }).code };
  }
  assert.notEqual(store.commit(tx).status, "conflict");
  return { out };
}

for (const [label, app] of [
  ["built in", logging],
  ["bundle", bundle.app],
] as const) {
  test(`logging app ${label}: a private write is read back; an over-long message is refused`, () => {
    const store = new Store();
    assert.equal(call(app, store, "POST", "/log/private", "", { id: 7, msg: "héllo" }).code, undefined);
    const read = call(app, store, "GET", "/log/private", "id=7", null);
    assert.deepEqual((read.out as { body?: unknown } | undefined)?.body, { id: 7, msg: "héllo" });
    const long = call(app, store, "POST", "/log/private", "", { id: 8, msg: "é".repeat(32 * 1024 + 1) });
    assert.equal(long.code, "COTERIE_ERR_INVALID_INPUT");
  });
}

// The limit is on UTF-8 bytes, and the app measures a message only when its length could exceed
// it; these sit on either side of the limit with 1-, 2-, 3- and 4-byte characters.
for (const [label, app] of [
  ["built in", logging],
  ["bundle", bundle.app],
] as const) {
  test(`logging app ${label}: a message of 65,536 UTF-8 bytes is stored, one byte more is refused`, () => {
    const store = new Store();
    const cases: Array<[string, number]> = [
      ["a", 65_536],
      ["é", 32_768],
      ["€", 21_845],
      ["😀", 16_384],
    ];
    for (const [char, count] of cases) {
      const fits = char.repeat(count);
      assert.ok(new TextEncoder().encode(fits).byteLength <= 64 * 1024);
      assert.equal(call(app, store, "POST", "/log/private", "", { id: 1, msg: fits }).code, undefined, char);
      const over = `${fits}${char === "€" ? "éé" : char}`;
      assert.ok(new TextEncoder().encode(over).byteLength > 64 * 1024);
      assert.equal(
        call(app, store, "POST", "/log/private", "", { id: 2, msg: over }).code,
        "COTERIE_ERR_INVALID_INPUT",
        char,
      );
    }
  });
}
