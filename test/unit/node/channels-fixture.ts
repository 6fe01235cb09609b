// Shared by the node-to-node channel tests: a service certificate, node identities it endorses, and
// a `Channels` with test-sized limits (each test overrides what it is about).
import type { Curve, KeyPair } from "../../../src/crypto/keys.ts";
import { generateKeyPair, privateKeyToPem } from "../../../src/crypto/keys.ts";
import { certificateId, createSelfSignedCertificate, endorseCertificate } from "../../../src/crypto/x509.ts";
import { Channels, type ChannelsOptions } from "../../../src/node/channels/channels.ts";
import { createLogger } from "../../../src/node/logger.ts";

export type TestService = { key: KeyPair; cert: string; curve: Curve };
export type TestNode = { keyPem: string; certPem: string; id: string };

export async function testService(curve: Curve = "P-384"): Promise<TestService> {
  const key = generateKeyPair(curve);
  const cert = await createSelfSignedCertificate(key, { subject: "CN=svc", validityDays: 1, ca: true });
  return { key, cert, curve };
}

/** A node certificate endorsed by `svc`, on the service's curve. */
export async function testNode(svc: TestService): Promise<TestNode> {
  const key = generateKeyPair(svc.curve);
  const cert = await endorseCertificate(key, svc.key, svc.cert, {
    subject: "CN=node",
    validityDays: 1,
    ipAddresses: ["127.0.0.1"],
  });
  return { keyPem: privateKeyToPem(key.privateKey), certPem: cert, id: certificateId(cert) };
}

/** Channels for node `n`, listening on a free loopback port once `listen()` is called. */
export function testChannels(
  n: TestNode,
  serviceCertPem: string,
  options: Pick<ChannelsOptions, "addressOf"> & Partial<ChannelsOptions>,
): Channels {
  return new Channels({
    self: n.id,
    keyPem: n.keyPem,
    certPem: n.certPem,
    serviceCertPem,
    listen: { host: "127.0.0.1", port: 0 },
    isPeerAllowed: () => true,
    onMessage: () => {},
    frameBytesMax: 1 << 20,
    queueFramesMax: 1000,
    queueBytesMax: 1 << 22,
    reconnectMsMin: 20,
    reconnectMsMax: 100,
    log: createLogger("error"),
    ...options,
  });
}
