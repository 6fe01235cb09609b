/**
 * The service's own records. The genesis transaction writes `service.info`; offline ledger
 * verification reads it to find the service certificate when none is given.
 */
import { defineTable, json, utf8 } from "../kv/index.ts";

export type ServiceStatus = "Opening" | "Open" | "Recovering";

export type ServiceInfo = {
  cert: string;
  status: ServiceStatus;
  /** Transaction id that created this identity. */
  created_at: string;
  /** Certificates of previous identities of this service (after disaster recovery), oldest first. */
  previous_identities?: string[];
};

export const SERVICE_INFO_MAP = "public:coterie.gov.service.info";
export const SERVICE_INFO_KEY = "service";
export const serviceInfo = defineTable(SERVICE_INFO_MAP, utf8, json<ServiceInfo>());

/**
 * Operational settings the members control (governance `set_service_configuration`), one record
 * under the key `config`. Absent fields leave the node's own configuration in force.
 */
export type ServiceConfiguration = {
  signature_interval_txs?: number;
  signature_interval_ms?: number;
  gov_request_window_s?: number;
};

export const SERVICE_CONFIG_KEY = "config";

export const serviceConfiguration = defineTable(
  "public:coterie.gov.service.config",
  utf8,
  json<ServiceConfiguration>(),
);
