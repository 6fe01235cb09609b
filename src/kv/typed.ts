import type { Codec } from "./codecs.ts";
import { checkMapName } from "./names.ts";
import type { Tx } from "./tx.ts";

/** Parameters of `TypedMap.range`: like `RangeOptions` with typed bounds. */
export type TypedRangeOptions<K> = { from?: K; to?: K; limit: number; cursor?: string; reverse?: boolean };

/** A page of typed entries; `cursor` is present iff more entries may follow. */
export type TypedRangeResult<K, V> = { entries: Array<[K, V]>; cursor?: string };

/**
 * One map seen through a transaction with key and value codecs. Ordering is the byte order of the
 * encoded keys (numeric for `u64`, code-point order for `utf8`).
 */
export class TypedMap<K, V> {
  readonly name: string;
  private readonly tx: Tx;
  private readonly keyCodec: Codec<K>;
  private readonly valueCodec: Codec<V>;

  constructor(tx: Tx, name: string, keyCodec: Codec<K>, valueCodec: Codec<V>) {
    this.tx = tx;
    this.name = name;
    this.keyCodec = keyCodec;
    this.valueCodec = valueCodec;
  }

  get(key: K): V | undefined {
    const { keyCodec, valueCodec } = this;
    if (keyCodec.encodeLatin1 !== undefined && valueCodec.decodeLatin1 !== undefined) {
      const value = this.tx.getLatin1(this.name, keyCodec.encodeLatin1(key));
      return value === undefined ? undefined : valueCodec.decodeLatin1(value);
    }
    const bytes = this.tx.get(this.name, keyCodec.encode(key));
    return bytes === undefined ? undefined : valueCodec.decode(bytes);
  }

  has(key: K): boolean {
    const { keyCodec } = this;
    if (keyCodec.encodeLatin1 !== undefined) {
      return this.tx.getLatin1(this.name, keyCodec.encodeLatin1(key)) !== undefined;
    }
    return this.tx.has(this.name, keyCodec.encode(key));
  }

  put(key: K, value: V): void {
    const { keyCodec, valueCodec } = this;
    if (keyCodec.encodeLatin1 !== undefined && valueCodec.encodeLatin1 !== undefined) {
      this.tx.putLatin1(this.name, keyCodec.encodeLatin1(key), valueCodec.encodeLatin1(value));
      return;
    }
    this.tx.put(this.name, keyCodec.encode(key), valueCodec.encode(value));
  }

  delete(key: K): void {
    this.tx.delete(this.name, this.keyCodec.encode(key));
  }

  /** The version that last wrote `key` in the transaction's snapshot. */
  versionOf(key: K): number | undefined {
    return this.tx.versionOf(this.name, this.keyCodec.encode(key));
  }

  range(options: TypedRangeOptions<K>): TypedRangeResult<K, V> {
    const { from, to, ...rest } = options;
    const page = this.tx.range(this.name, {
      ...rest,
      ...(from === undefined ? {} : { from: this.keyCodec.encode(from) }),
      ...(to === undefined ? {} : { to: this.keyCodec.encode(to) }),
    });
    const entries = page.entries.map(([k, v]): [K, V] => [
      this.keyCodec.decode(k),
      this.valueCodec.decode(v),
    ]);
    return page.cursor === undefined ? { entries } : { entries, cursor: page.cursor };
  }

  /** Calls `fn(key, value)` in key order; `fn` returning `false` stops. */
  forEach(fn: (key: K, value: V) => unknown): void {
    this.tx.forEach(this.name, (k, v) => fn(this.keyCodec.decode(k), this.valueCodec.decode(v)));
  }
}

/** A map declared once with its codecs; `table.in(tx)` gives the typed view in a transaction. */
export type Table<K, V> = {
  readonly name: string;
  readonly keyCodec: Codec<K>;
  readonly valueCodec: Codec<V>;
  in(tx: Tx): TypedMap<K, V>;
};

/**
 * Declares a table. The framework declares its built-in tables with this, one file per domain:
 * @example
 * export const members = defineTable("public:coterie.gov.members", utf8, json<MemberInfo>());
 * members.in(tx).put(memberId, info);
 */
export function defineTable<K, V>(name: string, keyCodec: Codec<K>, valueCodec: Codec<V>): Table<K, V> {
  checkMapName(name);
  return Object.freeze({
    name,
    keyCodec,
    valueCodec,
    in: (tx: Tx) => tx.typed(name, keyCodec, valueCodec),
  });
}
