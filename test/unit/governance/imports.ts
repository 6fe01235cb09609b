// What the governance tests import from src, in one place.
import { decodeCoseSign1 } from "../../../src/crypto/cose.ts";
import { parseGovHeaders } from "../../../src/governance/index.ts";

export * from "../../../src/governance/index.ts";

export function decodeForTest(bytes: Uint8Array) {
  return parseGovHeaders(decodeCoseSign1(bytes).protectedHeaders);
}
