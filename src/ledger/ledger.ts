/**
 * The node's view of its ledger: chunk files plus the Merkle tree over every entry, plus the
 * list of signature entries (for receipts and commit). One entry = one leaf; leaf index = seqno - 1.
 */
import { assert } from "../util/assert.ts";
import { decodeEntry, type EncodedEntry, EntryKind, leafOf } from "./entry.ts";
import { LedgerFiles, type LedgerFilesOptions, type RecoveryReport } from "./files.ts";
import { leafHashSync, MerkleTree } from "./merkle-tree.ts";

export type ReplayedEntry = { bytes: Buffer; seqno: number };

export class Ledger {
  readonly files: LedgerFiles;
  readonly tree = new MerkleTree();
  /** Seqnos of signature entries, ascending. */
  readonly signatureSeqnos: number[] = [];

  private constructor(files: LedgerFiles) {
    this.files = files;
  }

  /** Opens `dir`, rebuilding the tree; `onEntry` sees every recovered entry in order. */
  static open(
    dir: string,
    options: LedgerFilesOptions,
    onEntry: (e: ReplayedEntry) => void = () => {},
  ): { ledger: Ledger; recovery: RecoveryReport } {
    const replayed: ReplayedEntry[] = [];
    const { files, recovery } = LedgerFiles.open(dir, options, (bytes, seqno) =>
      replayed.push({ bytes, seqno }),
    );
    const ledger = new Ledger(files);
    for (const e of replayed) {
      const decoded = decodeEntry(e.bytes);
      ledger.addLeaf(leafHashSync(leafOf(decoded)), e.seqno, decoded.header.kind === EntryKind.signature);
      onEntry(e);
    }
    return { ledger, recovery };
  }

  get lastSeqno(): number {
    return this.files.lastSeqno;
  }

  private addLeaf(leafHash: Uint8Array, seqno: number, isSignature: boolean): void {
    const index = this.tree.append(leafHash);
    assert(index === seqno - 1, `leaf index ${index} is seqno - 1 for ${seqno}`);
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
