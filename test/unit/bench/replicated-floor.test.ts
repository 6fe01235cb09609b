// The replicated floor (bench/replicated-floor.ts) as the suite runs it: real processes, mutual TLS,
// O_DSYNC logs. A write is answered only once a majority holds it durably: with one of two backups
// stopped it still commits, with both stopped it waits, and every answered body is in the logs.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import * as https from "node:https";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, test } from "node:test";
import { type CertFiles, writeBenchCerts } from "../../../bench/certs.ts";

const script = resolve(import.meta.dirname, "../../../bench/replicated-floor.ts");
const dir = mkdtempSync(join(tmpdir(), "floor-test-"));
const children: ChildProcess[] = [];
let certs: CertFiles;
let port = 0;
let agent: https.Agent;

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => done(p));
    });
    s.on("error", fail);
  });
}

function start(args: string[], ready: RegExp): Promise<ChildProcess> {
  const child = spawn(process.execPath, [script, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  return new Promise((done, fail) => {
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d;
      if (ready.test(out)) done(child);
    });
    child.stderr.on("data", (d: Buffer) => {
      out += d;
    });
    child.once("exit", (code) => fail(new Error(`exited ${code}: ${out}`)));
  });
}

function write(body: string): Promise<{ status: number; text: string }> {
  return new Promise((done, fail) => {
    const req = https.request(
      {
        host: "127.0.0.1",
        port,
        method: "POST",
        path: "/w",
        agent,
        headers: { "content-length": body.length },
      },
      (res) => {
        let text = "";
        res.on("data", (d: Buffer) => {
          text += d;
        });
        res.on("end", () => done({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on("error", fail);
    req.end(body);
  });
}

/** Resolves with the answer, or with "pending" if none came within `ms`. */
const within = <T>(p: Promise<T>, ms: number) =>
  Promise.race([p, new Promise<"pending">((done) => setTimeout(() => done("pending"), ms))]);

let backups: ChildProcess[] = [];

before(async () => {
  certs = await writeBenchCerts(dir);
  const ports = [await freePort(), await freePort()];
  backups = await Promise.all(
    ports.map((p, k) =>
      start(
        ["backup", String(p), certs.caFile, certs.serverCertFile, certs.serverKeyFile, fresh(`b${k}`)],
        /listening on tls:/,
      ),
    ),
  );
  port = await freePort();
  const { caFile, serverCertFile, serverKeyFile, certFile, keyFile } = certs;
  const args = [
    "primary",
    String(port),
    caFile,
    serverCertFile,
    serverKeyFile,
    certFile,
    keyFile,
    fresh("p"),
  ];
  await start([...args, ...ports.map(String)], /listening on https:/);
  agent = new https.Agent({
    keepAlive: true,
    ca: readFileSync(certs.caFile),
    cert: readFileSync(certs.certFile),
    key: readFileSync(certs.keyFile),
  });
});

function fresh(name: string): string {
  const d = join(dir, name);
  rmSync(d, { recursive: true, force: true });
  return d;
}

after(() => {
  agent?.destroy();
  for (const c of children) {
    c.kill("SIGCONT");
    c.kill("SIGKILL");
  }
  rmSync(dir, { recursive: true, force: true });
});

const logOf = (name: string) => readFileSync(join(dir, name, "floor.log"), "latin1");

test("a write is answered once it is durable on a majority, and is then in every log that acknowledged it", {
  timeout: 20_000,
}, async () => {
  const bodies = Array.from({ length: 20 }, (_, i) => `{"id":${i},"msg":"floor ${i}"}`);
  const answers = await Promise.all(bodies.map(write));
  for (const a of answers) assert.deepEqual(a, { status: 200, text: '{"transaction_id":"2.15"}' });
  for (const log of ["p", "b0", "b1"])
    for (const b of bodies) assert.ok(logOf(log).includes(b), `${log}: ${b}`);

  // One backup stopped: the primary and the other backup are still a majority.
  backups[0]?.kill("SIGSTOP");
  assert.equal((await within(write('{"one":"stopped"}'), 5000)) === "pending", false);
  assert.ok(logOf("b1").includes('{"one":"stopped"}'));

  // Both stopped: the primary alone is no majority, so the write waits for a backup.
  backups[1]?.kill("SIGSTOP");
  const waiting = write('{"both":"stopped"}');
  assert.equal(await within(waiting, 500), "pending");
  backups[1]?.kill("SIGCONT");
  assert.deepEqual(await within(waiting, 5000), { status: 200, text: '{"transaction_id":"2.15"}' });
  assert.ok(logOf("b1").includes('{"both":"stopped"}'));
  backups[0]?.kill("SIGCONT");
});

test("a request without a client certificate is refused at the handshake", { timeout: 10_000 }, async () => {
  const refused = new Promise<string>((done) => {
    const req = https.request(
      { host: "127.0.0.1", port, method: "POST", path: "/w", ca: readFileSync(certs.caFile), agent: false },
      () => done("answered"),
    );
    req.on("error", () => done("refused"));
    req.end("{}");
  });
  assert.equal(await refused, "refused");
});
