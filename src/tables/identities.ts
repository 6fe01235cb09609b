/**
 * Members, users and nodes. Ids are the lowercase hex SHA-256 of the certificate DER, everywhere:
 * in tables, in the API, in logs and on the command line.
 */
import { defineTable, json, utf8 } from "../kv/index.ts";

export type MemberStatus = "Accepted" | "Active";

export type MemberInfo = {
  status: MemberStatus;
  /** Free-form data the members agree on, e.g. `{ "role": "auditor" }`. */
  member_data?: unknown;
  /** PEM public key to which recovery shares are encrypted; makes the member a recovery participant. */
  encryption_public_key?: string;
};

export const memberCerts = defineTable("public:coterie.gov.members.certs", utf8, utf8);
export const memberInfo = defineTable("public:coterie.gov.members.info", utf8, json<MemberInfo>());

export type UserInfo = { user_data?: unknown };

export const userCerts = defineTable("public:coterie.gov.users.certs", utf8, utf8);
export const userInfo = defineTable("public:coterie.gov.users.info", utf8, json<UserInfo>());

export type NodeStatus = "Pending" | "Trusted" | "Retiring" | "Retired";

export type NodeInfo = {
  cert: string;
  status: NodeStatus;
  /** Where other nodes and clients reach this node. */
  rpc_address: string;
  node_to_node_address?: string;
  /** Platform name of the evidence the node joined with ("virtual", "sev-snp"). */
  platform: string;
};

export const nodeInfo = defineTable("public:coterie.gov.nodes.info", utf8, json<NodeInfo>());
