/**
 * Offline verification of a JSON transaction receipt against the service certificate, browser-safe
 * (WebCrypto and @peculiar/x509; no `node:` import). docs/receipts.md is the normative description
 * of the format and of these steps; keep the two in step.
 *
 * A receipt proves that the transaction `transaction_id` is a leaf of the Merkle tree whose root a
 * node signed in the signature transaction `signature_transaction_id`, and that the node's
 * certificate was endorsed by the service identity that the verifier pins. Each failed check
 * throws a `CoterieError` with its own code, so a caller can tell a forged proof from an expired
 * certificate.
 */
import { X509Certificate } from "@peculiar/x509";
import { CoterieError, type ErrorCode } from "../util/errors.ts";
import {
  bytesEqual,
  fromHex,
  inclusionProofSides,
  leafHash,
  nodeHash,
  PROOF_HASHES_MAX,
  sha256,
  toHex,
} from "./merkle.ts";

/** The JSON receipt, exactly as a node serves it (docs/receipts.md). */
export type Receipt = {
  transaction_id: string;
  leaf_components: { write_set_digest: string; commit_evidence: string; claims_digest: string };
  proof: ({ left: string } | { right: string })[];
  signature_transaction_id: string;
  tree_size: number;
  leaf_index: number;
  root: string;
  signature: string;
  node_id: string;
  cert: string;
  service_endorsements?: string[];
};

/** What a valid receipt establishes; digests are lowercase hex. */
export type VerifiedReceipt = { transactionId: string; root: string; nodeId: string; claimsDigest: string };

export type VerifyReceiptOptions = {
  /** Instant at which the node certificate must be valid; defaults to now. */
  now?: Date;
};

/** Upper bound on a PEM certificate in a receipt; real ones are about 1 KiB. */
export const RECEIPT_CERT_PEM_BYTES_MAX = 16 * 1024;
/**
 * The curves a node key may be on (config `nodeKey.curve`), each with the hash its root signatures
 * use and their length in IEEE P1363 form (r ‖ s). Verifiers take the curve from the node
 * certificate's key, never from a signature's length.
 */
export const NODE_KEY_SIGNATURES = {
  "P-384": { hash: "SHA-384", signatureBytes: 96 },
  "P-256": { hash: "SHA-256", signatureBytes: 64 },
} as const;
export type NodeKeyCurve = keyof typeof NODE_KEY_SIGNATURES;

/** Whether `curve` (a WebCrypto `namedCurve`) is one a node key may be on. */
export function isNodeKeyCurve(curve: unknown): curve is NodeKeyCurve {
  return typeof curve === "string" && Object.hasOwn(NODE_KEY_SIGNATURES, curve);
}

/**
 * The bytes of a root signature given in base64, if it is canonical base64 of exactly the length a
 * `curve` node key signs; null otherwise. The receipt and both ledger verifiers decode with this.
 */
export function nodeSignatureBytes(signatureB64: string, curve: NodeKeyCurve): Uint8Array | null {
  if (!BASE64.test(signatureB64)) return null;
  const bytes = fromBase64(signatureB64);
  return bytes.length === NODE_KEY_SIGNATURES[curve].signatureBytes ? bytes : null;
}

const HEX64 = /^[0-9a-f]{64}$/;
const TXID = /^(0|[1-9][0-9]{0,15})\.([1-9][0-9]{0,15})$/;
const COMMIT_EVIDENCE = /^ce:((?:0|[1-9][0-9]{0,15})\.[1-9][0-9]{0,15}):[0-9a-f]{64}$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Verifies `receipt` (parsed JSON) against the PEM service certificate the caller pins.
 *
 * @example
 *   const { transactionId, claimsDigest } = await verifyReceipt(JSON.parse(text), servicePem);
 * @throws CoterieError COTERIE_ERR_RECEIPT_MALFORMED | _EVIDENCE_MISMATCH | _BAD_PROOF |
 *   _NODE_ID_MISMATCH | _CERT_NOT_ENDORSED | _CERT_EXPIRED | _BAD_SIGNATURE, and
 *   COTERIE_ERR_INVALID_INPUT when the service certificate itself cannot be parsed.
 */
export async function verifyReceipt(
  receipt: unknown,
  serviceCertPem: string,
  options: VerifyReceiptOptions = {},
): Promise<VerifiedReceipt> {
  const serviceCert = parseServiceCert(serviceCertPem);
  const r = checkReceiptShape(receipt);
  checkEvidence(r);
  const root = await checkProof(r);
  const node = await checkNodeCertificate(
    r.cert,
    serviceCert,
    r.node_id,
    options,
    r.service_endorsements ?? [],
  );
  await checkRootSignature(node, root, r.signature_transaction_id, r.signature);
  return {
    transactionId: r.transaction_id,
    root: toHex(root),
    nodeId: node.nodeId,
    claimsDigest: r.leaf_components.claims_digest,
  };
}

/** A node certificate that passed steps 5–7; `publicKey` is its ECDSA key on `curve`, for verify. */
export type VerifiedNodeCertificate = { nodeId: string; publicKey: CryptoKey; curve: NodeKeyCurve };

/**
 * Steps 5–7 of docs/receipts.md on their own (for the COSE form, and for ledger verification):
 * the node certificate parses, its SHA-256 is `expectedNodeId`, the service key signed it, it is
 * valid at `options.now`, and its key is ECDSA P-256 or P-384.
 */
export async function verifyNodeCertificate(
  nodeCertPem: string,
  serviceCertPem: string,
  expectedNodeId: string,
  options: VerifyReceiptOptions = {},
): Promise<VerifiedNodeCertificate> {
  return checkNodeCertificate(nodeCertPem, parseServiceCert(serviceCertPem), expectedNodeId, options, []);
}

/**
 * The leaf data d of docs/receipts.md step 4: write_set_digest ‖ SHA-256(utf8(commit_evidence)) ‖
 * claims_digest (96 bytes). The components must already be shape-checked.
 */
export async function leafDataOf(components: Receipt["leaf_components"]): Promise<Uint8Array> {
  const evidenceDigest = await sha256(new TextEncoder().encode(components.commit_evidence));
  return concat(fromHex(components.write_set_digest), evidenceDigest, fromHex(components.claims_digest));
}

async function checkNodeCertificate(
  certPem: string,
  serviceCert: X509Certificate,
  expectedNodeId: string,
  options: VerifyReceiptOptions,
  endorsements: readonly string[],
): Promise<VerifiedNodeCertificate> {
  const nodeCert = parseCert(certPem, "COTERIE_ERR_RECEIPT_MALFORMED", "cert");
  const nodeId = toHex(await sha256(new Uint8Array(nodeCert.rawData)));
  if (nodeId !== expectedNodeId)
    fail("COTERIE_ERR_RECEIPT_NODE_ID_MISMATCH", "node_id is not SHA-256(cert DER)");
  await checkEndorsement(nodeCert, serviceCert, endorsements);
  checkValidity(nodeCert, options.now ?? new Date());
  const algorithm = nodeCert.publicKey.algorithm as EcKeyAlgorithm;
  const curve = algorithm.namedCurve;
  if (algorithm.name !== "ECDSA" || !isNodeKeyCurve(curve)) {
    fail("COTERIE_ERR_RECEIPT_BAD_SIGNATURE", "the node key must be ECDSA P-256 or P-384");
  }
  const publicKey = await nodeCert.publicKey.export(algorithm, ["verify"], globalThis.crypto);
  return { nodeId, publicKey, curve };
}

/** Step 1: every field present, of the right type and encoding (docs/receipts.md, "Format"). */
export function checkReceiptShape(value: unknown): Receipt {
  const r = asObject(value, "receipt");
  checkLeafComponents(r.leaf_components);
  for (const f of ["transaction_id", "signature_transaction_id"] as const) {
    if (typeof r[f] !== "string" || !TXID.test(r[f])) malformed(`${f} must be <view>.<seqno>`);
  }
  for (const f of ["tree_size", "leaf_index"] as const) {
    if (!Number.isSafeInteger(r[f]) || (r[f] as number) < 0) malformed(`${f} must be a non-negative integer`);
  }
  hexField(r.root, "root");
  hexField(r.node_id, "node_id");
  if (typeof r.signature !== "string" || !BASE64.test(r.signature)) malformed("signature must be base64");
  if (typeof r.cert !== "string" || r.cert.length > RECEIPT_CERT_PEM_BYTES_MAX)
    malformed("cert must be a PEM");
  if (!Array.isArray(r.proof) || r.proof.length > PROOF_HASHES_MAX) {
    malformed(`proof must be an array of at most ${PROOF_HASHES_MAX} steps`);
  }
  for (const [i, step] of (r.proof as unknown[]).entries()) checkProofStep(step, i);
  const endorsements = r.service_endorsements;
  if (endorsements !== undefined && !(Array.isArray(endorsements) && endorsements.every(isString))) {
    malformed("service_endorsements must be an array of PEM strings");
  }
  return r as unknown as Receipt;
}

/** The `leaf_components` object of step 1, on its own (the COSE form takes it beside the receipt). */
export function checkLeafComponents(value: unknown): Receipt["leaf_components"] {
  const lc = asObject(value, "leaf_components");
  for (const f of ["write_set_digest", "claims_digest"] as const) hexField(lc[f], `leaf_components.${f}`);
  if (typeof lc.commit_evidence !== "string" || !COMMIT_EVIDENCE.test(lc.commit_evidence)) {
    malformed("leaf_components.commit_evidence must be ce:<view>.<seqno>:<64 lowercase hex>");
  }
  return lc as Receipt["leaf_components"];
}

/** The transaction id named by a shape-checked commit evidence string. */
export function commitEvidenceTxid(commitEvidence: string): { txid: string; view: number; seqno: number } {
  const txid = commitEvidence.split(":")[1] ?? "";
  const [view, seqno] = parseTxid(txid);
  return { txid, view, seqno };
}

function checkProofStep(step: unknown, index: number): void {
  const s = asObject(step, `proof[${index}]`);
  const keys = Object.keys(s);
  if (keys.length !== 1 || (keys[0] !== "left" && keys[0] !== "right")) {
    malformed(`proof[${index}] must have exactly one key, left or right`);
  }
  hexField(s[keys[0]!], `proof[${index}].${keys[0]}`);
}

/** Step 2: the ids agree with each other (leaf index = seqno - 1, tree size = signature seqno - 1). */
function checkEvidence(r: Receipt): void {
  const mismatch = (why: string) => fail("COTERIE_ERR_RECEIPT_EVIDENCE_MISMATCH", why);
  const evidenceTxid = r.leaf_components.commit_evidence.split(":")[1];
  if (evidenceTxid !== r.transaction_id) mismatch("commit evidence names another transaction");
  const [view, seqno] = parseTxid(r.transaction_id);
  const [signatureView, signatureSeqno] = parseTxid(r.signature_transaction_id);
  if (r.leaf_index !== seqno - 1) mismatch("leaf_index must be the transaction's seqno - 1");
  if (r.tree_size !== signatureSeqno - 1) mismatch("tree_size must be the signature's seqno - 1");
  if (r.leaf_index >= r.tree_size) mismatch("the signature must come after the transaction");
  if (signatureView < view) mismatch("the signature's view precedes the transaction's view");
}

/** Steps 3–4: the proof has the RFC 9162 shape for (leaf_index, tree_size) and leads to `root`. */
async function checkProof(r: Receipt): Promise<Uint8Array> {
  const badProof = (why: string) => fail("COTERIE_ERR_RECEIPT_BAD_PROOF", why);
  const sides = inclusionProofSides(r.leaf_index, r.tree_size);
  if (sides.length !== r.proof.length) {
    badProof(
      `proof has ${r.proof.length} steps; leaf ${r.leaf_index} of ${r.tree_size} needs ${sides.length}`,
    );
  }
  let cur = await leafHash(await leafDataOf(r.leaf_components));
  for (let i = 0; i < r.proof.length; i++) {
    const step = r.proof[i]!;
    const side = "left" in step ? "left" : "right";
    if (side !== sides[i]) badProof(`proof step ${i} must be ${sides[i]}, not ${side}`);
    const sibling = fromHex("left" in step ? step.left : step.right);
    cur = side === "left" ? await nodeHash(sibling, cur) : await nodeHash(cur, sibling);
  }
  if (!bytesEqual(cur, fromHex(r.root))) badProof("the proof does not lead to the receipt's root");
  return cur;
}

/** Most `service_endorsements` followed (one per disaster recovery of the service). */
const SERVICE_ENDORSEMENTS_MAX = 64;

async function signedBy(cert: X509Certificate, issuer: X509Certificate): Promise<boolean> {
  try {
    return await cert.verify({ publicKey: issuer.publicKey, signatureOnly: true }, globalThis.crypto);
  } catch {
    return false;
  }
}

/**
 * Step 6: the node certificate is signed by the service certificate's key, or — for a transaction
 * of a previous identity of a recovered service — by the key of `service_endorsements[i]`, where
 * each endorsement from i on is signed by the next one's key and the last by the service key
 * (the `previous_identities` of the service record, oldest first).
 */
async function checkEndorsement(
  nodeCert: X509Certificate,
  serviceCert: X509Certificate,
  endorsements: readonly string[],
): Promise<void> {
  if (await signedBy(nodeCert, serviceCert)) return;
  if (endorsements.length > SERVICE_ENDORSEMENTS_MAX)
    malformed(`at most ${SERVICE_ENDORSEMENTS_MAX} service_endorsements are followed`);
  const chain = endorsements.map((pem) =>
    parseCert(pem, "COTERIE_ERR_RECEIPT_MALFORMED", "service_endorsements"),
  );
  for (let i = 0; i < chain.length; i++) {
    if (!(await signedBy(nodeCert, chain[i] as X509Certificate))) continue;
    let linked = true;
    for (let j = i; j < chain.length && linked; j++)
      linked = await signedBy(chain[j] as X509Certificate, chain[j + 1] ?? serviceCert);
    if (linked) return;
  }
  fail(
    "COTERIE_ERR_RECEIPT_CERT_NOT_ENDORSED",
    "the node certificate is not signed by the service key, directly or through service_endorsements",
  );
}

/** Step 7: `now` lies within the node certificate's validity period. */
function checkValidity(nodeCert: X509Certificate, now: Date): void {
  const t = now.getTime();
  if (t < nodeCert.notBefore.getTime())
    fail("COTERIE_ERR_RECEIPT_CERT_EXPIRED", "the node certificate is not yet valid");
  if (t > nodeCert.notAfter.getTime())
    fail("COTERIE_ERR_RECEIPT_CERT_EXPIRED", "the node certificate has expired");
}

/**
 * The bytes a node signs in a signature transaction: the Merkle root ‖ u64le(view) ‖ u64le(seqno)
 * of the signature transaction itself (48 bytes). Signing the signature's own id, not only the
 * root, binds `signature_transaction_id` and `tree_size` (= seqno - 1) in a receipt: with the root
 * alone they could be rewritten to any tree size with the same proof shape.
 */
export function signedRootMessage(root: Uint8Array, view: number, seqno: number): Uint8Array {
  const out = new Uint8Array(48);
  out.set(root, 0);
  const dv = new DataView(out.buffer);
  dv.setBigUint64(32, BigInt(view), true);
  dv.setBigUint64(40, BigInt(seqno), true);
  return out;
}

/**
 * Step 8: ECDSA over `signedRootMessage`, P1363 (r ‖ s), under the node key, with its curve's hash
 * and length (P-256: SHA-256, 64 bytes; P-384: SHA-384, 96 bytes).
 */
async function checkRootSignature(
  node: VerifiedNodeCertificate,
  root: Uint8Array,
  signatureTxid: string,
  signatureB64: string,
): Promise<void> {
  const { hash, signatureBytes } = NODE_KEY_SIGNATURES[node.curve];
  const signature = nodeSignatureBytes(signatureB64, node.curve);
  if (signature === null) {
    malformed(`signature must be ${signatureBytes} bytes for a ${node.curve} node key (r ‖ s)`);
  }
  const ok = await globalThis.crypto.subtle.verify(
    { name: "ECDSA", hash },
    node.publicKey,
    signature as Uint8Array<ArrayBuffer>,
    signedRootMessage(root, ...parseTxid(signatureTxid)) as Uint8Array<ArrayBuffer>,
  );
  if (!ok) fail("COTERIE_ERR_RECEIPT_BAD_SIGNATURE", "the root signature does not verify under the node key");
}

function parseServiceCert(pem: string): X509Certificate {
  return parseCert(pem, "COTERIE_ERR_INVALID_INPUT", "service certificate");
}

function parseCert(pem: unknown, code: ErrorCode, what: string): X509Certificate {
  if (typeof pem !== "string" || !pem.trimStart().startsWith("-----BEGIN CERTIFICATE-----")) {
    fail(code, `${what} must be a PEM certificate`);
  }
  try {
    return new X509Certificate(pem);
  } catch (cause) {
    return fail(code, `${what} is not a parsable X.509 certificate`, cause);
  }
}

function parseTxid(txid: string): [view: number, seqno: number] {
  const m = TXID.exec(txid);
  const view = Number(m?.[1]);
  const seqno = Number(m?.[2]);
  if (!Number.isSafeInteger(view) || !Number.isSafeInteger(seqno)) malformed(`bad transaction id ${txid}`);
  return [view, seqno];
}

function asObject(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value))
    malformed(`${what} must be an object`);
  return value as Record<string, unknown>;
}

function hexField(value: unknown, what: string): void {
  if (typeof value !== "string" || !HEX64.test(value)) malformed(`${what} must be 64 lowercase hex digits`);
}

function isString(value: unknown): value is string {
  return typeof value === "string";
}

function malformed(message: string): never {
  return fail("COTERIE_ERR_RECEIPT_MALFORMED", message);
}

function fail(code: ErrorCode, message: string, cause?: unknown): never {
  throw new CoterieError(code, message, cause === undefined ? {} : { cause });
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

function fromBase64(b64: string): Uint8Array {
  const binary = atob(b64);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}
