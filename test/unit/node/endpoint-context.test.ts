// The handler context as app code uses it: spread into a new object, or its functions taken out of
// it, everything still works, and the context exposes nothing beyond the documented members.
import assert from "node:assert/strict";
import { test } from "node:test";
import { EndpointContext } from "../../../src/node/app-runner.ts";
import { makeEngine } from "./engine-fixture.ts";

test("a spread or destructured context still reads history, sets claims and tells the time", async () => {
  const engine = await makeEngine({ signatureIntervalMs: 60_000 });
  const { txId } = await engine.execute((tx) => tx.put("records", Buffer.from("k"), Buffer.from("v")), {
    reservedWrites: false,
  });
  assert.ok(txId !== null);
  engine.start();
  engine.appendSignature();
  await engine.waitForCommit(txId, 5000);
  const claims = { digest: null as Uint8Array | null };
  const ctx = new EndpointContext({} as never, {} as never, [], engine.store.beginTx(), [], engine, claims);
  assert.deepEqual(Object.keys(ctx).sort(), [
    "caller",
    "crypto",
    "historical",
    "readerParties",
    "request",
    "setClaimsDigest",
    "tx",
    "untrustedTime",
  ]);

  const copy = { ...ctx };
  assert.equal(copy.historical.committedSeqno, engine.committedSeqno);
  const { writes, mapWrites } = copy.historical;
  const written = writes("records", Buffer.from("k"), 1, engine.committedSeqno);
  assert.deepEqual(
    written.map((w) => [w.seqno, Buffer.from(w.value ?? []).toString()]),
    [[txId.seqno, "v"]],
  );
  assert.equal(mapWrites("records", 1, engine.committedSeqno, 10).length, 1);

  const { setClaimsDigest, untrustedTime } = ctx;
  assert.equal(typeof untrustedTime(), "number");
  const digest = new Uint8Array(32).fill(7);
  setClaimsDigest(digest);
  assert.equal(claims.digest, digest);
  assert.throws(() => setClaimsDigest(new Uint8Array(31)), TypeError);
  assert.equal(claims.digest, digest, "a refused digest changes nothing");
  await engine.close();
});
