/**
 * The record the genesis transaction writes about the service itself. It lives here, not with the
 * other built-in tables, because offline ledger verification needs it to find the service
 * certificate when none is given.
 */
export const SERVICE_INFO_MAP = "public:coterie.gov.service.info";
export const SERVICE_INFO_KEY: Uint8Array = new TextEncoder().encode("service");

export type ServiceStatus = "Opening" | "Open" | "Recovering";

export type ServiceInfo = {
  cert: string;
  status: ServiceStatus;
  /** Transaction id that created this identity. */
  created_at: string;
  /** Certificates of previous identities of this service (after disaster recovery), oldest first. */
  previous_identities?: string[];
};
