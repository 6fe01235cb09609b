/**
 * The `user_cose_sign1` policy: the request body is a COSE_Sign1 (content-type
 * `application/cose`) whose protected `kid` is the 32 raw bytes of SHA-256(user certificate DER),
 * signed ES256/ES384 by that user's key. The verified payload becomes the handler's request body.
 * The signature check is synchronous (node:crypto) so it fits the authenticator table.
 */
import { X509Certificate } from "node:crypto";
import type { Caller } from "../app/index.ts";
import { decodeCoseSign1, sigStructure } from "../crypto/cose.ts";
import { verifyP1363 } from "../crypto/keys.ts";
import { userCerts, userInfo } from "../tables/identities.ts";
import { isCoterieError } from "../util/errors.ts";
import type { Authenticator } from "./auth.ts";

export const userCoseAuthenticator: Authenticator = ({ tx, req, body }) => {
  const type = req.headers["content-type"]?.split(";")[0]?.trim().toLowerCase();
  if (type !== "application/cose" || body.length === 0) return null;
  let decoded: ReturnType<typeof decodeCoseSign1>;
  try {
    decoded = decodeCoseSign1(body);
  } catch (error) {
    if (isCoterieError(error)) return null;
    throw error;
  }
  if (decoded.kid === null || decoded.kid.length !== 32 || decoded.payload === null) return null;
  const id = Buffer.from(decoded.kid).toString("hex");
  const pem = userCerts.in(tx).get(id);
  if (pem === undefined) return null;
  const key = new X509Certificate(pem).publicKey;
  const curve = key.asymmetricKeyDetails?.namedCurve;
  if ((decoded.alg === -7 && curve !== "prime256v1") || (decoded.alg === -35 && curve !== "secp384r1"))
    return null;
  const toBeSigned = sigStructure(decoded.protectedBytes, new Uint8Array(0), decoded.payload);
  if (!verifyP1363(key, toBeSigned, decoded.signature)) return null;
  const caller: Caller = {
    policy: "user_cose_sign1",
    id,
    data: userInfo.in(tx).get(id)?.user_data ?? null,
    payload: decoded.payload,
  };
  return caller;
};
