/** Limits of a `Store`. Every field is optional; `validateStoreOptions` fills the defaults. */
export type StoreOptions = {
  /** Longest key, in bytes. */
  keyBytesMax?: number;
  /** Longest value, in bytes. */
  valueBytesMax?: number;
  /** Sum of key and value bytes of one transaction's distinct writes. */
  writeSetBytesMax?: number;
  /** Versions kept for `rollback` and `snapshotAt` above `compactedVersion`; `compact` frees them. */
  versionsRetainedMax?: number;
  /** Largest `limit` of one `range` call. */
  rangeLimitMax?: number;
  /** Distinct keys one transaction may read (its read set, checked at commit). */
  readKeysMax?: number;
  /** Range reads one transaction may record (each is checked at commit). */
  readRangesMax?: number;
  /**
   * How many recent versions keep the list of keys they wrote, for the commit-time conflict check.
   * A transaction whose snapshot is older than this window conflicts (and is re-run).
   */
  conflictWindowVersions?: number;
};

export type StoreLimits = Required<StoreOptions>;

export const storeDefaults: StoreLimits = {
  keyBytesMax: 8 * 1024,
  valueBytesMax: 8 * 1024 * 1024,
  writeSetBytesMax: 32 * 1024 * 1024,
  versionsRetainedMax: 100_000,
  rangeLimitMax: 1000,
  readKeysMax: 1_000_000,
  readRangesMax: 10_000,
  conflictWindowVersions: 10_000,
};

function checkPositiveInteger(value: number, name: string): void {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`StoreOptions.${name} must be a positive safe integer, got ${value}`);
  }
}

/** Fills defaults and rejects nonsense once, at construction (etcd's `validate()`). */
export function validateStoreOptions(options: StoreOptions = {}): StoreLimits {
  const limits: StoreLimits = { ...storeDefaults };
  for (const name of Object.keys(storeDefaults) as Array<keyof StoreLimits>) {
    const value = options[name];
    if (value !== undefined) limits[name] = value;
    checkPositiveInteger(limits[name], name);
  }
  if (limits.keyBytesMax > limits.writeSetBytesMax || limits.valueBytesMax > limits.writeSetBytesMax) {
    throw new RangeError("StoreOptions: keyBytesMax and valueBytesMax must not exceed writeSetBytesMax");
  }
  return limits;
}
