/**
 * `POST /node/join` on the primary (a backup redirects it). Verifies the joiner's evidence against
 * the attestation policy the members govern (code measurements, host data and minimum TCB
 * allow-lists; virtual evidence accepted while the service runs on the virtual platform), records
 * a refusal with its reason for the members, records the node — Trusted at once
 * before the service opens, Pending afterwards (governance `transition_node_to_trusted`) — issues
 * its certificate endorsed by the service key, and, once it is Trusted and recorded as committed,
 * answers with the service key and ledger secrets sealed to the joiner's public key. The joiner
 * polls with the same request until then. The configuration reconciler (network.ts) adds Trusted
 * nodes to the consensus configuration.
 */
import { createPublicKey, type KeyObject, X509Certificate } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { verifyEvidence } from "../attestation/index.ts";
import { sha256Hex } from "../crypto/hash.ts";
import { curveOf, publicKeyDer } from "../crypto/keys.ts";
import { certificateId, endorseCertificate } from "../crypto/x509.ts";
import { attestationPolicyOf } from "../governance/index.ts";
import { joinRefusals } from "../tables/attestation.ts";
import { nodeInfo } from "../tables/identities.ts";
import { CoterieError, isCoterieError } from "../util/errors.ts";
import type { Engine } from "./engine.ts";
import { parseJsonBody, readBody, sendJson } from "./http.ts";
import { JOIN_SECRETS_LABEL, type JoinRequest, type JoinResponse, parseJoinRequest } from "./join-wire.ts";
import type { NodeAddresses } from "./network.ts";
import { networks, redirectToPrimary } from "./routing.ts";
import { sealTo } from "./secrets-crypto.ts";

export type JoinCall = {
  req: IncomingMessage;
  res: ServerResponse;
  engine: Engine;
  serviceOpen: () => boolean;
  bodyBytesMax: number;
};

/** Refusals kept for the members to read; beyond this, further ones are only logged. */
export const joinRefusalsMax = 256;

/**
 * Records why a join was refused (keyed by the joiner's public key, so a retrying joiner keeps one
 * record), unless the table is full. The evidence failed, so the record holds only what the
 * joiner claimed and the stable error code, never anything secret.
 */
async function recordRefusal(engine: Engine, key: KeyObject, error: CoterieError): Promise<void> {
  const keyId = sha256Hex(publicKeyDer(key));
  const table = joinRefusals.in(engine.store.beginTx());
  let count = 0;
  table.forEach(() => {
    count++;
  });
  if (count >= joinRefusalsMax && !table.has(keyId)) return;
  await engine.execute(
    (tx) =>
      joinRefusals
        .in(tx)
        .put(keyId, { code: error.code, reason: error.message, at_seqno: engine.lastSeqno + 1 }),
    { reservedWrites: true },
  );
}

function spkiHex(key: KeyObject): string {
  return publicKeyDer(key).toString("hex");
}

/** The id of the node already recorded with this public key, if any. */
function nodeWithKey(engine: Engine, key: KeyObject): string | null {
  const wanted = spkiHex(key);
  let found: string | null = null;
  nodeInfo.in(engine.store.beginTx()).forEach((id, info) => {
    if (found === null && spkiHex(new X509Certificate(info.cert).publicKey) === wanted) found = id;
  });
  return found;
}

export async function handleJoin(call: JoinCall): Promise<number> {
  const { req, res, engine } = call;
  if (networks.get(engine) === undefined) {
    throw new CoterieError(
      "COTERIE_ERR_CONSENSUS_JOIN_REFUSED",
      "this service runs as a single node (no nodeToNode configured); it cannot take members",
    );
  }
  if (!engine.isPrimary) return redirectToPrimary(req, res, engine);
  const body = parseJoinRequest(
    parseJsonBody(req.headers["content-type"], await readBody(req, call.bodyBytesMax)),
  );
  let key: KeyObject;
  try {
    key = createPublicKey(body.public_key);
  } catch {
    throw new CoterieError("COTERIE_ERR_INVALID_INPUT", "join request: public_key does not parse");
  }
  try {
    curveOf(key);
  } catch {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    throw new CoterieError(
      "COTERIE_ERR_INVALID_INPUT",
      `join request: node keys are EC P-256 or P-384, not ${key.asymmetricKeyType}${curve === undefined ? "" : ` ${curve}`}`,
    );
  }
  const policy = attestationPolicyOf(engine.store.beginTx(), { allowVirtual: true });
  let verified: Awaited<ReturnType<typeof verifyEvidence>>;
  try {
    verified = await verifyEvidence(body.evidence, policy, publicKeyDer(key));
  } catch (error) {
    if (isCoterieError(error) && error.code.startsWith("COTERIE_ERR_ATTESTATION_"))
      await recordRefusal(engine, key, error);
    throw error;
  }
  let id = nodeWithKey(engine, key);
  if (id === null) id = await record(call, body, key, verified.platform);
  const info = nodeInfo.in(engine.store.beginTx()).get(id);
  if (info === undefined || info.status === "Retired" || info.status === "Retiring") {
    throw new CoterieError(
      "COTERIE_ERR_CONSENSUS_JOIN_REFUSED",
      `node ${id} is ${info?.status ?? "unknown"}`,
    );
  }
  if (info.status !== "Trusted") {
    sendJson(res, 200, { status: "Pending", node_id: id } satisfies JoinResponse);
    return 200;
  }
  sendJson(res, 200, trustedResponse(engine, id, info.cert, key));
  return 200;
}

/** Issues the certificate and records the node (Trusted before the service opens, else Pending). */
async function record(call: JoinCall, body: JoinRequest, key: KeyObject, platform: string): Promise<string> {
  const { engine } = call;
  const host = body.rpc_address.replace(/:\d+$/, "");
  const isIp = /^[\d.]+$/.test(host);
  const cert = await endorseCertificate(
    { publicKey: key },
    engine.identity.service,
    engine.identity.serviceCert,
    {
      subject: "CN=Coterie node",
      validityDays: 365,
      dnsNames: ["localhost", ...(isIp ? [] : [host])],
      ipAddresses: ["127.0.0.1", ...(isIp && host !== "127.0.0.1" ? [host] : [])],
    },
  );
  const id = certificateId(cert);
  const status = call.serviceOpen() ? "Pending" : "Trusted";
  const { txId } = await engine.execute(
    (tx) => {
      nodeInfo.in(tx).put(id, {
        cert,
        status,
        rpc_address: body.rpc_address,
        node_to_node_address: body.node_to_node_address,
        platform,
      });
    },
    { reservedWrites: true },
  );
  if (txId !== null) await engine.waitForCommit(txId, 5000).catch(() => "Pending");
  return id;
}

function trustedResponse(engine: Engine, id: string, cert: string, key: KeyObject): JoinResponse {
  const identity = engine.identity;
  const network = networks.get(engine);
  const nodes: NodeAddresses = {};
  nodeInfo.in(engine.store.beginTx()).forEach((nodeId, info) => {
    if (info.node_to_node_address !== undefined && info.status !== "Retired") {
      nodes[nodeId] = { rpc_address: info.rpc_address, node_to_node_address: info.node_to_node_address };
    }
  });
  const secrets = {
    service_key: identity.service.privateKey.export({ type: "pkcs8", format: "pem" }) as string,
    ledger_secrets: identity.ledgerSecrets.map((s) => ({
      version: s.version,
      key: Buffer.from(s.key).toString("base64"),
    })),
  };
  return {
    status: "Trusted",
    node_id: id,
    node_cert: cert,
    service_cert: identity.serviceCert,
    initial_configuration: [...(network?.storage.initialConfiguration ?? [identity.nodeId])],
    nodes,
    secrets: sealTo(key, Buffer.from(JSON.stringify(secrets)), JOIN_SECRETS_LABEL),
  };
}
