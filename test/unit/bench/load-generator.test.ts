// The generator against a tiny in-process server: it must count exactly what the server answered,
// keep responses matched to requests under pipelining, and pace an open loop at the asked rate.
import assert from "node:assert/strict";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { validateLoadConfig } from "../../../bench/load-config.ts";
import { LoadGenerator } from "../../../bench/load-generator.ts";

async function withServer(fn: (url: string, seen: { requests: number; ids: Set<number> }) => Promise<void>) {
  const seen = { requests: 0, ids: new Set<number>() };
  const server = http.createServer((req, res) => {
    seen.requests++;
    const id = Number(new URL(req.url ?? "/", "http://x").searchParams.get("id"));
    seen.ids.add(id);
    // Odd ids answer chunked with a 404, even ids a Content-Length 200: both framings, in order.
    if (id % 2 === 1) {
      res.writeHead(404);
      res.write("not");
      res.end(" found");
    } else res.end("ok");
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  try {
    await fn(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen);
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
}

const template = { name: "get", weight: 1, method: "GET" as const, path: "/x?id={id}" };

test("closed loop with requestsMax: every request answered once, statuses counted", async () => {
  await withServer(async (url, seen) => {
    const config = validateLoadConfig({
      targets: [url],
      connections: 4,
      pipelining: 8,
      mode: "closed",
      warmupMs: 0,
      durationMs: 20_000,
      drainMs: 1000,
      requestsMax: 1000,
      templates: [template],
    });
    const r = await new LoadGenerator(config).run();
    assert.equal(r.ok, true, r.failure);
    assert.equal(r.sent, 1000);
    assert.equal(seen.requests, 1000);
    assert.equal(seen.ids.size, 1000);
    assert.equal(r.completedOk, 500);
    assert.deepEqual(r.errors, { "404": 500 });
    assert.equal(r.histogram.total, 500);
    assert.ok(
      r.latencyUs.p50 > 0 && r.latencyUs.p50 <= r.latencyUs.p99 && r.latencyUs.p99 <= r.latencyUs.max,
    );
  });
});

test("open loop sends at the asked rate and measures only after warm-up", async () => {
  await withServer(async (url, seen) => {
    const config = validateLoadConfig({
      targets: [url],
      connections: 2,
      pipelining: 4,
      mode: "open",
      ratePerSec: 400,
      warmupMs: 250,
      durationMs: 1000,
      drainMs: 1000,
      templates: [template],
    });
    const r = await new LoadGenerator(config).run();
    assert.equal(r.ok, true, r.failure);
    // 1.25 s at 400/s: at most 501 requests are ever due, and the server saw all that were sent.
    assert.ok(r.sent <= 501 && r.sent >= 350, `sent ${r.sent}`);
    assert.equal(seen.requests, r.sent);
    const measured = r.completedOk + (r.errors["404"] ?? 0);
    assert.ok(measured >= 300 && measured <= 401, `measured ${measured}`);
    assert.ok(Math.abs(r.throughputPerSec - 200) <= 60, `ok/s ${r.throughputPerSec}`);
  });
});

test("configuration is validated before any socket opens", () => {
  assert.throws(() => validateLoadConfig({ targets: [] }), TypeError);
  assert.throws(() => validateLoadConfig({ targets: ["ftp://x:1"], templates: [template] }), RangeError);
  assert.throws(
    () => validateLoadConfig({ targets: ["https://127.0.0.1:1"], templates: [template] }),
    /tls files/,
  );
  assert.throws(
    () => validateLoadConfig({ targets: ["http://127.0.0.1:1"], connections: 5000, templates: [template] }),
    RangeError,
  );
  assert.throws(
    () => validateLoadConfig({ targets: ["http://127.0.0.1:1"], mode: "open", templates: [template] }),
    TypeError,
  );
  assert.throws(() => validateLoadConfig({ targets: ["http://127.0.0.1:1"], templates: [] }), TypeError);
});

test("an open loop reports how late it sent each measured request; a closed loop does not", async () => {
  await withServer(async (url) => {
    const base = {
      targets: [url],
      connections: 2,
      pipelining: 4,
      warmupMs: 100,
      durationMs: 500,
      drainMs: 1000,
      templates: [{ ...template, path: "/x?id={rand}" }],
    };
    for (const pacingGapUs of [0, 200]) {
      const open = await new LoadGenerator(
        validateLoadConfig({ ...base, mode: "open", ratePerSec: 200, pacingGapUs }),
      ).run();
      assert.equal(open.ok, true, open.failure);
      const lag = open.dispatchLagUs;
      assert.ok(lag !== undefined, "open loop has a dispatch lag");
      assert.ok(lag.p50 <= lag.p99 && lag.p99 <= lag.max, JSON.stringify(lag));
      // Recorded, not a summary of nothing: no timer or thread wakes a process at the exact microsecond.
      assert.ok(lag.max > 0 && lag.mean > 0, JSON.stringify(lag));
      // The lag is part of each request's latency, measured from the same intended start.
      assert.ok(lag.p50 <= open.latencyUs.p50, `lag ${lag.p50} µs, latency ${open.latencyUs.p50} µs`);
    }
    const closed = await new LoadGenerator(validateLoadConfig({ ...base, mode: "closed" })).run();
    assert.equal(closed.dispatchLagUs, undefined);
  });
});

test("the pacer's gap is validated", () => {
  const base = {
    targets: ["http://127.0.0.1:1"],
    mode: "open" as const,
    ratePerSec: 10,
    templates: [template],
  };
  assert.equal(validateLoadConfig(base).pacingGapUs, 200);
  assert.equal(validateLoadConfig({ ...base, pacingGapUs: 0 }).pacingGapUs, 0);
  assert.throws(() => validateLoadConfig({ ...base, pacingGapUs: 1001 }), RangeError);
  assert.throws(() => validateLoadConfig({ ...base, pacingGapUs: 0.5 }), RangeError);
});
