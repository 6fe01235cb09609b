import { assert } from "../util/assert.ts";
import type { NodeId } from "./types.ts";

/** A configuration that took effect when the entry at `index` was appended (0: the initial one). */
export type ConfigurationAt = { index: number; members: readonly NodeId[] };

/**
 * The active configurations: the newest one at or below the commit index, followed by every
 * configuration appended after it. A reconfiguration takes effect when appended, and while it is
 * uncommitted both the old and the new configuration are active: every decision (commit, election,
 * CheckQuorum) needs a quorum in each of them.
 *
 * Invariants: at least one configuration; indexes strictly increasing; only the first may be at or
 * below the commit index; every configuration is non-empty and free of duplicates.
 */
export class ConfigurationHistory {
  #list: ConfigurationAt[];

  constructor(base: ConfigurationAt) {
    this.#list = [];
    this.add(base.index, base.members);
  }

  /** Every active configuration, oldest first. */
  active(): readonly (readonly NodeId[])[] {
    return this.#list.map((c) => c.members);
  }
  latest(): readonly NodeId[] {
    return this.#list[this.#list.length - 1]!.members;
  }
  /** Index of the newest uncommitted reconfiguration, or null when only one configuration is active. */
  pendingIndex(): number | null {
    return this.#list.length > 1 ? this.#list[this.#list.length - 1]!.index : null;
  }
  /** Every node that is a voter in some active configuration. */
  voters(): NodeId[] {
    return [...new Set(this.#list.flatMap((c) => c.members))];
  }
  isVoter(id: NodeId): boolean {
    return this.#list.some((c) => c.members.includes(id));
  }

  add(index: number, members: readonly NodeId[]): void {
    const last = this.#list[this.#list.length - 1];
    assert(
      last === undefined || index > last.index,
      () => `configuration at ${index} is not after ${last?.index}`,
    );
    assert(new Set(members).size === members.length, () => `configuration at ${index} has duplicates`);
    this.#list.push({ index, members: [...members] });
  }

  /** Starts over from a snapshot's configuration. */
  reset(base: ConfigurationAt): void {
    this.#list = [];
    this.add(base.index, base.members);
  }

  /** Forgets configurations appended after `index` (the entries carrying them were rolled back). */
  truncateAfter(index: number): void {
    assert(this.#list[0]!.index <= index, () => `rollback to ${index} below the committed configuration`);
    while (this.#list[this.#list.length - 1]!.index > index) this.#list.pop();
  }

  /** Drops configurations superseded by one at or below the new commit index. */
  commit(index: number): void {
    while (this.#list.length > 1 && this.#list[1]!.index <= index) this.#list.shift();
  }
}
