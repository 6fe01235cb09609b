/**
 * The node's view of its ledger: chunk files plus the Merkle tree over every entry, plus the
 * list of signature entries (for receipts and commit). One entry = one leaf; leaf index = seqno - 1.
 */
import { assert } from "../util/assert.ts";
import { CoterieError } from "../util/errors.ts";
import { decodeEntry, type EncodedEntry, EntryKind, leafOf } from "./entry.ts";
import { LedgerFiles, type LedgerFilesOptions, type RecoveryReport } from "./files.ts";
import { leafHashSync, MerkleTree } from "./merkle-tree.ts";

export type ReplayedEntry = { bytes: Buffer; seqno: number };

/**
 * Where a ledger may start when its files do not begin at seqno 1: a committed snapshot at a
 * signature `seqno`, with the RFC 9162 frontier of the tree of that many leaves.
 */
export type LedgerBase = { seqno: number; frontier: readonly Uint8Array[] };

export class Ledger {
  readonly files: LedgerFiles;
  /** Over every entry, or (a ledger that starts after a snapshot) from the snapshot's frontier on. */
  readonly tree: MerkleTree;
  /** Seqnos of signature entries, ascending. */
  readonly signatureSeqnos: number[];

  private constructor(files: LedgerFiles, tree: MerkleTree, signatureSeqnos: number[] = []) {
    this.files = files;
    this.tree = tree;
    this.signatureSeqnos = signatureSeqnos;
  }

  /** The first seqno this node's ledger holds: 1, or the seqno after the snapshot it started from. */
  get firstSeqno(): number {
    return this.files.firstHeldSeqno;
  }

  /**
   * Opens `dir`, rebuilding the tree; `onEntry` sees every recovered entry in order, as its chunk
   * is read (a corrupt chunk later on throws after it saw the entries before). With `base`,
   * an empty directory starts at `base.seqno + 1`, and files that start there continue the tree
   * from the frontier; files that start at 1 ignore it. Receipts for seqnos up to `base.seqno`
   * then need the older ledger (another node's, or the archive).
   */
  static open(
    dir: string,
    options: LedgerFilesOptions,
    onEntry: (e: ReplayedEntry) => void = () => {},
    base: LedgerBase | null = null,
  ): { ledger: Ledger; recovery: RecoveryReport } {
    // Each entry is added to the tree and handed to `onEntry` as its chunk is read, so only one
    // chunk file's bytes are held at a time (collecting every entry first held the whole ledger:
    // docs/performance.md, "Starting from a snapshot").
    let tree: MerkleTree | null = null;
    const signatureSeqnos: number[] = [];
    const { files, recovery } = LedgerFiles.open(dir, options, (bytes, seqno) => {
      tree ??= Ledger.treeStartingAt(seqno, base, signatureSeqnos);
      const decoded = decodeEntry(bytes);
      const index = tree.append(leafHashSync(leafOf(decoded)));
      assert(index === seqno - 1, () => `leaf index ${index} is seqno - 1 for ${seqno}`);
      if (decoded.header.kind === EntryKind.signature) signatureSeqnos.push(seqno);
      onEntry({ bytes, seqno });
    });
    if (base !== null && tree === null && files.lastSeqno === 0) files.startAfter(base.seqno);
    tree ??= Ledger.treeStartingAt(files.firstHeldSeqno, base, signatureSeqnos);
    return { ledger: new Ledger(files, tree, signatureSeqnos), recovery };
  }

  /**
   * The tree of a ledger whose first entry is `first`: empty from seqno 1, or continued from the
   * frontier of the snapshot it starts after (whose seqno, a signature, goes to `signatureSeqnos`).
   */
  private static treeStartingAt(
    first: number,
    base: LedgerBase | null,
    signatureSeqnos: number[],
  ): MerkleTree {
    if (first > 1 && (base === null || base.seqno !== first - 1))
      throw new CoterieError(
        "COTERIE_ERR_LEDGER_CORRUPT",
        `the ledger starts at seqno ${first} but no snapshot at ${first - 1} was given to start from`,
      );
    if (first === 1 || base === null) return new MerkleTree();
    signatureSeqnos.push(base.seqno);
    return MerkleTree.fromFrontier(base.seqno, base.frontier);
  }

  get lastSeqno(): number {
    return this.files.lastSeqno;
  }

  private addLeaf(leafHash: Uint8Array, seqno: number, isSignature: boolean): void {
    const index = this.tree.append(leafHash);
    assert(index === seqno - 1, () => `leaf index ${index} is seqno - 1 for ${seqno}`);
    if (isSignature) this.signatureSeqnos.push(seqno);
  }

  append(entry: EncodedEntry, seqno: number, isSignature: boolean): void {
    this.files.append(entry.bytes, seqno, isSignature);
    this.addLeaf(leafHashSync(entry.leaf), seqno, isSignature);
  }

  flush(): Promise<void> {
    return this.files.flush();
  }

  /** The last signature at or before `seqno`, or 0. */
  lastSignatureAtOrBefore(seqno: number): number {
    const i = this.countSignaturesAtOrBefore(seqno);
    return i === 0 ? 0 : (this.signatureSeqnos[i - 1] as number);
  }

  /** The first signature after `seqno`, or 0 when none exists yet. */
  firstSignatureAfter(seqno: number): number {
    return this.signatureSeqnos[this.countSignaturesAtOrBefore(seqno)] ?? 0;
  }

  private countSignaturesAtOrBefore(seqno: number): number {
    let lo = 0;
    let hi = this.signatureSeqnos.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.signatureSeqnos[mid] as number) <= seqno) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Drops entries after `seqno` from files, tree and signature list. */
  async truncate(seqno: number): Promise<void> {
    await this.files.truncate(seqno);
    this.tree.truncate(seqno);
    while (this.signatureSeqnos.length > 0 && (this.signatureSeqnos.at(-1) as number) > seqno)
      this.signatureSeqnos.pop();
  }

  close(): Promise<void> {
    return this.files.close();
  }
}
