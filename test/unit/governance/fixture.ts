// A governance state in memory: a Store with a service record, the default constitution and
// members (P-384 and P-256 keys), plus helpers that sign real COSE requests the way members do.
import { sha256Hex } from "../../../src/crypto/hash.ts";
import { type Curve, generateKeyPair, privateKeyToPem } from "../../../src/crypto/keys.ts";
import { certificateId, createSelfSignedCertificate } from "../../../src/crypto/x509.ts";
import { Store, type Tx } from "../../../src/kv/index.ts";
import { memberCerts, memberInfo } from "../../../src/tables/identities.ts";
import { SERVICE_INFO_KEY, serviceInfo } from "../../../src/tables/service.ts";
import {
  ConstitutionRuntime,
  type ConstitutionRuntimeOptions,
  decodeForTest,
  type GovContext,
  type GovMessageType,
  genesisGovernance,
  pemSigner,
  signGovRequest,
  type VerifiedRequest,
} from "./imports.ts";

export type Member = { id: string; certPem: string; keyPem: string };

export async function makeMember(name: string, curve: Curve = "P-384"): Promise<Member> {
  const pair = generateKeyPair(curve);
  const certPem = await createSelfSignedCertificate(pair, {
    subject: `CN=${name}`,
    validityDays: 30,
    ca: false,
  });
  return { id: certificateId(certPem), certPem, keyPem: privateKeyToPem(pair.privateKey) };
}

export type Gov = {
  store: Store;
  runtime: ConstitutionRuntime;
  members: Member[];
  /** Runs `fn` in a transaction and commits it. */
  run<T>(fn: (tx: Tx, ctx: GovContext) => T): T;
  read<T>(fn: (tx: Tx) => T): T;
  request(
    member: Member,
    type: GovMessageType,
    payload: string,
    options?: { proposalId?: string; createdAt?: number },
  ): Promise<VerifiedRequest>;
  dispose(): void;
};

export async function makeGov(
  memberCount = 3,
  options: { active?: number; constitution?: string; runtime?: ConstitutionRuntimeOptions } = {},
): Promise<Gov> {
  const members: Member[] = [];
  for (let i = 0; i < memberCount; i++) members.push(await makeMember(`member${i}`));
  const store = new Store();
  const serviceCert = await createSelfSignedCertificate(generateKeyPair("P-384"), {
    subject: "CN=service",
    validityDays: 30,
    ca: true,
  });
  const setup = store.beginTx({ reservedWrites: true });
  serviceInfo.in(setup).put(SERVICE_INFO_KEY, { cert: serviceCert, status: "Opening", created_at: "1.1" });
  genesisGovernance(setup, options.constitution);
  members.forEach((m, i) => {
    memberCerts.in(setup).put(m.id, m.certPem);
    memberInfo.in(setup).put(m.id, { status: i < (options.active ?? memberCount) ? "Active" : "Accepted" });
  });
  store.commit(setup);
  const runtime = new ConstitutionRuntime(options.runtime ?? {});
  return {
    store,
    runtime,
    members,
    run(fn) {
      const tx = store.beginTx({ reservedWrites: true });
      const ctx: GovContext = {
        runtime,
        seqnoContext: tx.readVersion,
        nowS: Math.floor(Date.now() / 1000),
        windowS: 300,
      };
      const out = fn(tx, ctx);
      const r = store.commit(tx);
      if (r.status === "conflict") throw new Error("conflict");
      return out;
    },
    read(fn) {
      return fn(store.beginTx());
    },
    async request(member, type, payload, o = {}) {
      const bytes = await signGovRequest({
        signer: pemSigner(member.certPem, member.keyPem),
        type,
        payload,
        ...(o.proposalId ? { proposalId: o.proposalId } : {}),
        ...(o.createdAt ? { createdAt: o.createdAt } : {}),
      });
      const d = decodeForTest(bytes);
      return {
        memberId: member.id,
        type,
        createdAt: d.createdAt,
        proposalId: o.proposalId ?? null,
        payload: new TextEncoder().encode(payload),
        bytes,
        digest: sha256Hex(bytes),
      };
    },
    dispose() {
      runtime.dispose();
    },
  };
}

export const yes = "export function vote(proposal, proposerId) { return true; }";
export const no = "export function vote(proposal, proposerId) { return false; }";
export const proposalOf = (...actions: Array<{ name: string; args?: unknown }>) =>
  JSON.stringify({ actions });
