/**
 * The joiner's side of `coterie node join`: make a node key, get evidence that binds it, and poll
 * `POST /node/join` on the target (following redirects to the primary) until the service answers
 * Trusted with its certificate and the secrets sealed to our key. The result becomes this node's
 * identity (sealed on disk by the platform like any other) and its initial consensus state.
 */
import { createPublicKey } from "node:crypto";
import { readFileSync } from "node:fs";
import { request } from "node:https";
import { type Platform, reportDataForPublicKey } from "../attestation/index.ts";
import { generateKeyPair, privateKeyFromPem, publicKeyDer, publicKeyToPem } from "../crypto/keys.ts";
import { certificateId, isEndorsedBy } from "../crypto/x509.ts";
import { assert } from "../util/assert.ts";
import { CoterieError } from "../util/errors.ts";
import type { NodeConfig } from "./config.ts";
import type { Identity } from "./identity.ts";
import { JOIN_SECRETS_LABEL, type JoinRequest, type JoinResponse, type JoinSecrets } from "./join-wire.ts";
import type { Logger } from "./logger.ts";
import type { NodeAddresses } from "./network.ts";
import { openSealed } from "./secrets-crypto.ts";

/** Redirects followed for one request (a backup points at the primary, which may just have changed). */
const REDIRECTS_MAX = 5;

export type Joined = { identity: Identity; initialConfiguration: string[]; nodes: NodeAddresses };

type Reply = { status: number; location: string | null; body: string };

function post(url: string, body: string, ca: string | null): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: "POST",
        headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
        ...(ca === null ? { rejectUnauthorized: false } : { ca, checkServerIdentity: () => undefined }),
        timeout: 10_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            location: typeof res.headers.location === "string" ? res.headers.location : null,
            body: Buffer.concat(chunks).toString("utf8"),
          }),
        );
      },
    );
    req.on("timeout", () => req.destroy(new Error("join request timed out")));
    req.on("error", reject);
    req.end(body);
  });
}

/**
 * Refusals the members can lift by a vote while the joiner waits: the attestation policy's
 * allow-lists, its accepted platforms and its minimum TCB. The joiner asks again after these.
 */
const REFUSALS_GOVERNANCE_CAN_LIFT: ReadonlySet<string> = new Set([
  "COTERIE_ERR_ATTESTATION_PLATFORM_NOT_ALLOWED",
  "COTERIE_ERR_ATTESTATION_MEASUREMENT_NOT_ALLOWED",
  "COTERIE_ERR_ATTESTATION_HOST_DATA_NOT_ALLOWED",
  "COTERIE_ERR_ATTESTATION_TCB_TOO_OLD",
]);

/** A refusal to wait out (the members may lift it); its code and message are logged. */
class JoinHeldBack extends Error {
  readonly remoteCode: string;
  constructor(remoteCode: string, message: string) {
    super(message);
    this.remoteCode = remoteCode;
  }
}

function errorOf(body: string): { code: string; message: string } | null {
  try {
    const parsed = JSON.parse(body) as { error?: { code?: unknown; message?: unknown } };
    const { code, message } = parsed.error ?? {};
    return typeof code === "string" ? { code, message: typeof message === "string" ? message : "" } : null;
  } catch {
    return null;
  }
}

/**
 * One join request, following redirects. Returns the answer; throws a `CoterieError`
 * (COTERIE_ERR_CONSENSUS_JOIN_REFUSED) for a refusal no later request can change: the request was
 * read and refused (a 4xx other than 408 and 429) for a reason the members cannot lift, such as a
 * retired node, a service without node-to-node channels, a key on a curve the service does not
 * take, or evidence that does not verify (it is made once, so asking again sends the same).
 * Anything else throws an error to retry after: 5xx (an election in progress, a full queue), 408,
 * 429, network failures, and refusals the members can lift (`JoinHeldBack`).
 */
async function askOnce(target: string, body: string, ca: string | null): Promise<JoinResponse | null> {
  let url = `${target}/node/join`;
  for (let i = 0; i <= REDIRECTS_MAX; i++) {
    const reply = await post(url, body, ca);
    if (reply.status === 307 && reply.location !== null) {
      url = reply.location;
      continue;
    }
    if (reply.status === 200) return JSON.parse(reply.body) as JoinResponse;
    const error = errorOf(reply.body);
    const why = error === null ? reply.body.slice(0, 300) : `${error.code}: ${error.message}`;
    if (error !== null && REFUSALS_GOVERNANCE_CAN_LIFT.has(error.code)) {
      throw new JoinHeldBack(error.code, `join refused until the members allow it (${why})`);
    }
    const transient = reply.status >= 500 || reply.status === 408 || reply.status === 429;
    if (reply.status >= 400 && !transient) {
      throw new CoterieError(
        "COTERIE_ERR_CONSENSUS_JOIN_REFUSED",
        `${url} refused the join (${reply.status}): ${why}`,
        {
          details: { status: reply.status, code: error?.code ?? null },
        },
      );
    }
    throw new Error(`join request answered ${reply.status}: ${why}`);
  }
  return null;
}

export async function joinService(config: NodeConfig, platform: Platform, log: Logger): Promise<Joined> {
  const join = config.join;
  assert(join !== null && config.nodeToNode !== null, "join needs join.target and nodeToNode");
  const ca = join.serviceCertificate === null ? null : readFileSync(join.serviceCertificate, "utf8");
  if (ca === null)
    log.warn("joining without a pinned service certificate (join.serviceCertificate): trust on first use");
  const node = generateKeyPair(config.nodeKey.curve);
  const evidence = await platform.getEvidence(reportDataForPublicKey(publicKeyDer(node.publicKey)));
  const request: JoinRequest = {
    public_key: publicKeyToPem(node.publicKey),
    evidence,
    rpc_address: `${config.rpc.host}:${config.rpc.port}`,
    node_to_node_address: `${config.nodeToNode.host}:${config.nodeToNode.port}`,
  };
  const body = JSON.stringify(request);
  let heldBack = 0;
  for (let attempt = 1; ; attempt++) {
    const answer = await askOnce(join.target, body, ca).catch((error: unknown) => {
      if (error instanceof CoterieError) throw error;
      // A refusal the members may lift repeats every poll: logged on the first and every 20th.
      if (error instanceof JoinHeldBack) {
        if (heldBack++ % 20 === 0)
          log.warn("join refused; waiting for the members", { code: error.remoteCode, error: error.message });
      } else {
        log.warn("join request failed; retrying", { error: String(error) });
      }
      return null;
    });
    if (answer?.status === "Trusted") return accept(answer, node, ca);
    if (attempt === 1 || attempt % 20 === 0)
      log.info("waiting to be trusted", { node_id: answer?.node_id ?? null });
    await new Promise((r) => setTimeout(r, join.pollMs));
  }
}

function accept(
  answer: Extract<JoinResponse, { status: "Trusted" }>,
  node: ReturnType<typeof generateKeyPair>,
  ca: string | null,
): Joined {
  if (ca !== null && certificateId(answer.service_cert) !== certificateId(ca)) {
    throw new Error("the service answered with another service certificate than the pinned one");
  }
  assert(
    isEndorsedBy(answer.node_cert, answer.service_cert),
    "our node certificate is endorsed by the service",
  );
  const certKey = publicKeyDer(createPublicKey(answer.node_cert));
  assert(certKey.equals(publicKeyDer(node.publicKey)), "our node certificate is for our key");
  const secrets = JSON.parse(
    openSealed(node.privateKey, answer.secrets, JOIN_SECRETS_LABEL).toString("utf8"),
  ) as JoinSecrets;
  const service = {
    privateKey: privateKeyFromPem(secrets.service_key),
    publicKey: createPublicKey(answer.service_cert),
  };
  return {
    identity: {
      node,
      nodeCert: answer.node_cert,
      nodeId: certificateId(answer.node_cert),
      service,
      serviceCert: answer.service_cert,
      ledgerSecrets: secrets.ledger_secrets.map((s) => ({
        version: s.version,
        key: Buffer.from(s.key, "base64"),
      })),
    },
    initialConfiguration: answer.initial_configuration,
    nodes: answer.nodes,
  };
}
