import { assert } from "../util/assert.ts";
import { newTree } from "./btree.ts";
import { bytesToLatin1, latin1ToBytes } from "./bytes.ts";
import { checkMapName } from "./names.ts";
import type { PendingWrites } from "./state.ts";
import type { Write, WriteSet } from "./types.ts";

/**
 * Pending writes → `WriteSet`: maps by name in code-unit order, writes in key order (the trees
 * are already ordered). Fresh arrays, so a caller may keep or mutate the result.
 */
export function toWriteSet(pending: ReadonlyMap<string, PendingWrites>): WriteSet {
  const names = [...pending.keys()].sort();
  const writeSet: WriteSet = [];
  // Loops, not callbacks: a closure made per commit loses its optimised code at every major GC.
  for (const name of names) {
    const tree = pending.get(name) as PendingWrites;
    const keys = tree.keysArray();
    const values = tree.valuesArray();
    const writes: Write[] = [];
    for (let i = 0; i < keys.length; i++) {
      const value = values[i] as string | null;
      writes.push({
        key: latin1ToBytes(keys[i] as string),
        value: value === null ? null : latin1ToBytes(value),
      });
    }
    writeSet.push({ name, writes });
  }
  return writeSet;
}

/**
 * `WriteSet` → pending writes, asserting the form a writer must produce (maps strictly ascending
 * by name, keys strictly ascending, at least one write per map): the reader checks it again.
 */
export function fromWriteSet(writeSet: WriteSet): Map<string, PendingWrites> {
  const pending = new Map<string, PendingWrites>();
  let previousName: string | undefined;
  for (const { name, writes } of writeSet) {
    checkMapName(name);
    assert(previousName === undefined || previousName < name, "write set maps are sorted and distinct");
    assert(writes.length > 0, "a write set map has at least one write");
    const tree = newTree<string | null>();
    let previousKey: string | undefined;
    for (const { key, value } of writes) {
      assert(key instanceof Uint8Array, "write set keys are bytes");
      assert(value === null || value instanceof Uint8Array, "write set values are bytes or null");
      const k = bytesToLatin1(key);
      assert(previousKey === undefined || previousKey < k, "write set keys are sorted and distinct");
      tree.set(k, value === null ? null : bytesToLatin1(value));
      previousKey = k;
    }
    pending.set(name, tree);
    previousName = name;
  }
  return pending;
}
