// `coterie sandbox --nodes 3` brings up a three-process network that serves, redirects and stops
// cleanly; a join request whose evidence does not bind the presented key, or that is malformed, is
// refused with a stable code and records nothing.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { createPlatform, reportDataForPublicKey, virtualMeasurement } from "../../src/attestation/index.ts";
import { generateKeyPair, publicKeyDer, publicKeyToPem } from "../../src/crypto/keys.ts";
import { client, type NodeProcess, root } from "./harness.ts";
import { networkOf, stateOf, waitFor } from "./multi-node-harness.ts";

test("coterie sandbox --nodes 3: three processes, one primary, redirects, refused joins, clean stop", async () => {
  const workspace = mkdtempSync(join(tmpdir(), "coterie-sandbox3-"));
  const child = spawn(
    process.execPath,
    [
      "--no-node-snapshot",
      join(root, "src/cli/main.ts"),
      "sandbox",
      "--workspace",
      workspace,
      "--port",
      "0",
      "--nodes",
      "3",
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let out = "";
  let err = "";
  child.stdout.on("data", (d: Buffer) => {
    out += d.toString();
  });
  child.stderr.on("data", (d: Buffer) => {
    err += d.toString();
  });
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  try {
    await waitFor(
      () => /sandbox listening on/.test(out),
      80_000,
      `the sandbox starts:\n${out}\n${err.slice(-2000)}`,
    );
    const urls = [...out.matchAll(/listening on (https:\/\/[\d.]+:\d+)/g)].map((m) => m[1] as string);
    const serviceCert = readFileSync(join(workspace, "node0", "service_cert.pem"), "utf8");
    const nodes: NodeProcess[] = [...new Set(urls)].map((url) => ({
      child,
      url,
      serviceCert,
      stderr: () => err,
    }));
    assert.equal(nodes.length, 3, out);
    const view = await networkOf(nodes[0]!);
    assert.equal(view.nodes.filter((n) => n.voter).length, 3);
    const roles = await Promise.all(nodes.map(async (n) => (await stateOf(n)).role));
    assert.equal(roles.filter((r) => r === "Primary").length, 1, roles.join());
    const backup = nodes[roles.indexOf("Backup")]!;
    const user = {
      certPath: join(workspace, "user0_cert.pem"),
      keyPath: join(workspace, "user0_privk.pem"),
    };
    const c = client(backup, user as Parameters<typeof client>[1]);
    const w = await c.post("/app/log/public", { id: 1, msg: "x" });
    assert.equal(w.status, 307, w.body);
    c.close();

    // A join whose evidence binds another key is refused; no node is recorded, the refusal is.
    const dir = mkdtempSync(join(tmpdir(), "coterie-joiner-"));
    const platform = createPlatform("virtual", {
      measurement: virtualMeasurement(new TextEncoder().encode("coterie/0.1.0")),
      machineKeyPath: join(dir, "machine.key"),
    });
    const [k1, k2] = [generateKeyPair("P-384"), generateKeyPair("P-384")];
    const evidence = await platform.getEvidence(reportDataForPublicKey(publicKeyDer(k1.publicKey)));
    const primary = nodes[roles.indexOf("Primary")]!;
    const anon = client(primary, null);
    const body = {
      public_key: publicKeyToPem(k2.publicKey),
      evidence,
      rpc_address: "127.0.0.1:1",
      node_to_node_address: "127.0.0.1:2",
    };
    const refused = await anon.post("/node/join", body);
    assert.equal(refused.status, 403, refused.body);
    assert.match(refused.json().error.code, /^COTERIE_ERR_ATTESTATION_/);
    const malformed = await anon.post("/node/join", { public_key: "nope" });
    assert.equal(malformed.status, 400);
    assert.equal(malformed.json().error.code, "COTERIE_ERR_INVALID_INPUT");
    // Code the members have not allowed (another measurement) is refused too, with its own reason.
    const otherCode = createPlatform("virtual", {
      measurement: virtualMeasurement(new TextEncoder().encode("coterie/9.9.9-unapproved")),
      machineKeyPath: join(dir, "machine.key"),
    });
    const k3 = generateKeyPair("P-384");
    const unapproved = await anon.post("/node/join", {
      ...body,
      public_key: publicKeyToPem(k3.publicKey),
      evidence: await otherCode.getEvidence(reportDataForPublicKey(publicKeyDer(k3.publicKey))),
    });
    assert.equal(unapproved.status, 403, unapproved.body);
    assert.equal(unapproved.json().error.code, "COTERIE_ERR_ATTESTATION_MEASUREMENT_NOT_ALLOWED");
    assert.equal((await networkOf(primary)).nodes.length, 3, "no node recorded");
    const gov = await anon.get("/gov/v1/nodes");
    const refusals = gov.json().join_refusals as Array<{ key_id: string; code: string; reason: string }>;
    const keyId = (k: typeof k2) => createHash("sha256").update(publicKeyDer(k.publicKey)).digest("hex");
    assert.deepEqual(
      refusals.map((r) => [r.key_id, r.code]).sort(),
      [
        [keyId(k2), "COTERIE_ERR_ATTESTATION_REPORT_DATA_MISMATCH"],
        [keyId(k3), "COTERIE_ERR_ATTESTATION_MEASUREMENT_NOT_ALLOWED"],
      ].sort(),
      "both refusals are recorded for the members, with their reasons",
    );
    anon.close();
  } finally {
    child.kill("SIGINT");
    const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r("timeout"), 20_000))]);
    if (code === "timeout") child.kill("SIGKILL");
    assert.equal(code, 0, `the sandbox stops cleanly on Ctrl-C: ${err.slice(-1000)}`);
  }
});
