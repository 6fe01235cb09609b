/**
 * Executes transactions and turns them into ledger entries: run the handler against a snapshot,
 * commit with optimistic concurrency (re-run on conflict, bounded), serialise the write set (public
 * in plaintext, private encrypted), append to the ledger and hand it to the replicator; append a
 * signature over the Merkle root every N transactions, within T ms of a transaction, and as soon as
 * the last signature has committed (adaptive signing). Tracks the status of every transaction id
 * and wakes the requests waiting for their commit.
 *
 * Periodic signatures are made off the event loop (`startSignature`): the signature entry takes
 * the next seqno and signs the root of everything before it, so while the signature is being made
 * no other entry may be appended; writes wait for it before they commit, while requests, reads and
 * consensus messages go on being served. A signature whose seqno was taken meanwhile (an internal
 * append, a rollback, a change of view or office) is dropped and the next tick signs again.
 */
import { curveOf, signP1363, signP1363Async } from "../crypto/keys.ts";
import { signedRootMessage } from "../crypto/receipt.ts";
import type { Store, Tx, WriteSet } from "../kv/index.ts";
import { isPublicMapName } from "../kv/index.ts";
import {
  commitEvidenceDigest,
  commitEvidenceKey,
  commitEvidenceMac,
  commitEvidenceOfMac,
  commitEvidenceOfMacHex,
} from "../ledger/commit-evidence.ts";
import { EntryKind, encodeEntry, type LedgerSecret, ZERO_DIGEST } from "../ledger/entry.ts";
import type { Ledger } from "../ledger/ledger.ts";
import {
  buildReceipt,
  type LeafParts,
  type Receipt,
  receiptOf,
  receiptTextOf,
} from "../ledger/receipt-builder.ts";
import { type SignatureRecord, signatureWriteSet } from "../ledger/signature.ts";
import {
  SERVICE_CONFIG_KEY,
  SERVICE_INFO_KEY,
  serviceConfiguration,
  serviceInfo,
} from "../tables/service.ts";
import { assert } from "../util/assert.ts";
import { CoterieError } from "../util/errors.ts";
import { CoseReceipts } from "./cose-receipts.ts";
import { EVIDENCE_PREFETCH_TXS_DEFAULT, type Evidence, EvidencePrefetch } from "./evidence-prefetch.ts";
import { currentLedgerSecret, type Identity } from "./identity.ts";
import { RECEIPT_CACHE_TXS_DEFAULT, ReceiptCache } from "./receipt-cache.ts";
import type { Replicator } from "./replicator.ts";
import type { ViewHistory } from "./view-history.ts";

export type TxStatus = "Unknown" | "Pending" | "Committed" | "Invalid";

export type TxId = { view: number; seqno: number };

export type EngineOptions = {
  signatureIntervalTxs: number;
  /** The longest a transaction waits for a signature to start (`signatures.intervalMs`). */
  signatureIntervalMs: number;
  /**
   * Adaptive signing (`signatures.minIntervalMs`): once the last signature is committed, a new
   * transaction is signed at once, but no sooner than this many ms after the last signature
   * started. Absent (the default), or not below `signatureIntervalMs` (members may lower the
   * interval by vote): signatures follow the fixed interval only.
   */
  signatureMinIntervalMs?: number;
  txAttemptsMax: number;
  uncommittedTxsMax: number;
  /** `ledger.receiptCacheTxs` (default 16,384): receipts of this many recent transactions need no disk read. */
  receiptCacheTxs?: number;
  /**
   * `ledger.evidencePrefetchTxs` (default 1,024): the commit evidence of the next this many seqnos
   * is computed ahead on a worker thread (evidence-prefetch.ts); 0 computes it inline.
   */
  evidencePrefetchTxs?: number;
  /** Told (once) if the prefetch worker fails; the engine then computes evidence inline. */
  onEvidencePrefetchFailure?: (error: Error) => void;
};

export type ExecuteResult<T> = { result: T; txId: TxId | null };

/** A request waiting for its transaction to commit (`Engine.waitForCommit`). */
type CommitWaiter = {
  id: TxId;
  timeoutMs: number;
  /** `performance.now()` time after which it is rejected. */
  deadline: number;
  resolve: (status: TxStatus) => void;
  reject: (error: Error) => void;
};

/** Least time between two sweeps of the waiters' deadlines (each walks every waiter). */
const WAIT_SWEEP_MS_MIN = 10;

export class Engine {
  readonly store: Store;
  readonly ledger: Ledger;
  readonly identity: Identity;
  readonly views: ViewHistory;
  private readonly replicator: Replicator;
  /** Mutable: the signature intervals follow the members' service configuration once committed. */
  private readonly options: EngineOptions;
  private committed: number;
  private txsSinceSignature = 0;
  /**
   * Requests waiting for their transaction to commit, in the order they asked. An array, not a
   * `Map` by seqno: V8 leaves each table a Map outgrows or shrinks out of pointing at its successor
   * and at the entries it held, so once one such table was promoted, the young-generation
   * collector kept every later table and every waiter they held (its id, promise and timer) alive
   * until the next full collection (docs/performance.md, "Young garbage kept alive"). Their
   * timeouts share one timer (`waitTimer`), set for the earliest deadline.
   */
  private readonly waiters: CommitWaiter[] = [];
  private waitTimer: NodeJS.Timeout | null = null;
  /** When `waitTimer` fires (`performance.now()` time); Infinity when it is not set. */
  private waitTimerAt = Number.POSITIVE_INFINITY;
  private timer: NodeJS.Timeout | null = null;
  private serviceConfigVersion = -1;
  /** Told of every write set appended (primary) or applied (backup), in seqno order, before commit. */
  private readonly writeSetObservers: Array<(seqno: number, writes: WriteSet) => void> = [];
  /**
   * Commit-evidence keys by the secret object they derive from. Not by version: a rekey rolled back
   * and made again reuses its version with a new secret, and must not reuse the old key.
   */
  private readonly ceKeys = new WeakMap<LedgerSecret, Uint8Array>();
  private readonly evidencePrefetch: EvidencePrefetch;
  /** The COSE form of receipts, this node's signature over each committed root asked about. */
  readonly coseReceipts = new CoseReceipts(() => this.identity);
  /** What receipts of the transactions and signatures this node appended need, kept in memory. */
  private readonly receiptCache: ReceiptCache;
  /** `previous_identities` of the service info, by the map's content token (receipts add them). */
  private previousIdentities: { token: object; value: string[]; json?: string } | null = null;
  /** The signature being made off the event loop; settles once it is appended or dropped. */
  private signing: Promise<void> | null = null;
  /** Bumped when the suffix is rolled back, so a signature made for the old suffix is dropped. */
  private epoch = 0;
  /** The seqno of the last signature this node appended (0: none since start or rollback). */
  private lastSignatureSeqno = 0;
  /** When (performance.now()) the last signature was started. */
  private lastSignatureStartedAt = Number.NEGATIVE_INFINITY;
  /** An adaptive signature scheduled for just after this turn or for when the floor allows. */
  private prompt: NodeJS.Immediate | NodeJS.Timeout | null = null;
  /**
   * A P-256 node key signs in place: ~0.08 ms, less than the thread pool's round trip (a job, a
   * wake-up, and writes held back meanwhile). P-384 (~1.3 ms) signs on the thread pool.
   */
  private readonly signInPlace: boolean;

  constructor(args: {
    store: Store;
    ledger: Ledger;
    identity: Identity;
    replicator: Replicator;
    views: ViewHistory;
    committedSeqno: number;
    options: EngineOptions;
  }) {
    this.store = args.store;
    this.ledger = args.ledger;
    this.identity = args.identity;
    this.replicator = args.replicator;
    this.views = args.views;
    this.committed = args.committedSeqno;
    this.options = args.options;
    this.signInPlace = curveOf(args.identity.node.privateKey) === "P-256";
    this.receiptCache = new ReceiptCache(args.options.receiptCacheTxs ?? RECEIPT_CACHE_TXS_DEFAULT);
    this.evidencePrefetch = new EvidencePrefetch(
      args.options.evidencePrefetchTxs ?? EVIDENCE_PREFETCH_TXS_DEFAULT,
      args.options.onEvidencePrefetchFailure ?? (() => {}),
    );
    assert(this.store.version === this.ledger.lastSeqno, "store and ledger agree on the last seqno");
    this.replicator.onCommit = (seqno) => this.advanceCommit(seqno);
  }

  get view(): number {
    return this.views.currentView;
  }

  get committedSeqno(): number {
    return this.committed;
  }

  get lastSeqno(): number {
    return this.ledger.lastSeqno;
  }

  /**
   * Registers `observer` for the plaintext write set of every entry this node appends or applies
   * from now on (rolled-back seqnos are announced again when rewritten). Lets indexes follow the
   * ledger without reading it back and decrypting it a second time.
   */
  observeWriteSets(observer: (seqno: number, writes: WriteSet) => void): void {
    this.writeSetObservers.push(observer);
  }

  /** Announces an applied write set (the replicator calls this for entries it applies). */
  announceWriteSet(seqno: number, writes: WriteSet): void {
    for (const observe of this.writeSetObservers) observe(seqno, writes);
  }

  start(): void {
    this.applyServiceConfiguration();
    this.startSignatureTimer();
  }

  private startSignatureTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = setInterval(() => {
      if (this.txsSinceSignature > 0 && this.replicator.isPrimary()) this.startSignature();
    }, this.options.signatureIntervalMs);
    this.timer.unref();
  }

  /**
   * Adopts the signature intervals of the committed service configuration
   * (`set_service_configuration`), so members tune them by vote without restarting nodes. Values
   * the constitution let through are still range-checked here; the node's own config is the default.
   */
  private applyServiceConfiguration(): void {
    const version = serviceConfiguration.in(this.store.beginTx()).versionOf(SERVICE_CONFIG_KEY);
    if (version === undefined || version === this.serviceConfigVersion || version > this.committed) return;
    this.serviceConfigVersion = version;
    const config = serviceConfiguration.in(this.store.beginTx()).get(SERVICE_CONFIG_KEY);
    const txs = config?.signature_interval_txs;
    const ms = config?.signature_interval_ms;
    if (
      Number.isSafeInteger(txs) &&
      (txs as number) >= 1 &&
      (txs as number) <= this.options.uncommittedTxsMax
    ) {
      this.options.signatureIntervalTxs = txs as number;
    }
    if (
      Number.isSafeInteger(ms) &&
      (ms as number) >= 1 &&
      (ms as number) <= 60_000 &&
      ms !== this.options.signatureIntervalMs
    ) {
      this.options.signatureIntervalMs = ms as number;
      if (this.timer) this.startSignatureTimer();
    }
  }

  /**
   * Runs `fn` in a transaction, re-running it on conflict up to `txAttemptsMax` times. Writes are
   * committed and appended; a handler that throws changes nothing. Read-only runs get no tx id.
   */
  async execute<T>(
    fn: (tx: Tx) => T | Promise<T>,
    options: { reservedWrites: boolean; claimsDigest?: () => Uint8Array | null },
  ): Promise<ExecuteResult<T>> {
    this.checkUncommitted();
    for (let attempt = 1; attempt <= this.options.txAttemptsMax; attempt++) {
      const tx = this.store.beginTx({ reservedWrites: options.reservedWrites });
      const returned = fn(tx);
      const result = returned instanceof Promise ? await returned : returned;
      // A backup never commits a write: it only applies what the primary replicates.
      if (!this.replicator.isPrimary() && tx.hasWrites) {
        throw new CoterieError(
          "COTERIE_ERR_NOT_PRIMARY",
          "this node is not the primary; send writes to the primary",
        );
      }
      // A signature being made owns the next seqno: a write commits behind it (and is checked for
      // conflicts with it, like any commit since the transaction began). Reads do not wait.
      if (tx.hasWrites) {
        while (this.signing !== null) await this.signing;
        // Checked again at commit: writes held back behind a signature (or an async handler's
        // awaits) all passed the first check together, and would otherwise commit past the limit.
        this.checkUncommitted();
      }
      // No await between commit and append: entries reach the ledger in commit (seqno) order.
      const commit = this.store.commit(tx);
      if (commit.status === "conflict") continue;
      if (commit.status === "read-only") return { result, txId: null };
      this.afterCommit(commit.version, commit.writeSet, options.claimsDigest?.() ?? null);
      return { result, txId: { view: this.view, seqno: commit.version } };
    }
    throw new CoterieError(
      "COTERIE_ERR_KV_CONFLICT",
      `transaction conflicted with concurrent writes ${this.options.txAttemptsMax} times`,
    );
  }

  /** Refuses a write while `uncommittedTxsMax` transactions wait for commit (503, nothing applied). */
  private checkUncommitted(): void {
    if (this.ledger.lastSeqno - this.committed >= this.options.uncommittedTxsMax) {
      throw new CoterieError(
        "COTERIE_ERR_TOO_MANY_REQUESTS",
        "too many uncommitted transactions; retry later",
      );
    }
  }

  /**
   * Commits and appends a framework transaction synchronously, so `write` knows its own seqno and
   * nothing else is appended between it and the caller's next step (rekey, recovery, snapshot
   * evidence). `claimsDigest` goes into the entry's leaf (snapshot evidence binds the file there).
   * Returns the seqno.
   */
  appendInternal(write: (tx: Tx, seqno: number) => void, claimsDigest: Uint8Array | null = null): number {
    const seqno = this.store.version + 1;
    const tx = this.store.beginTx({ reservedWrites: true });
    write(tx, seqno);
    const commit = this.store.commit(tx);
    assert(commit.status === "ok" && commit.version === seqno, "an internal transaction commits at once");
    this.afterCommit(seqno, commit.writeSet, claimsDigest);
    return seqno;
  }

  /** Appends the entry of a store commit; runs synchronously after `store.commit`. */
  private afterCommit(version: number, writeSet: WriteSet, claimsDigest: Uint8Array | null): void {
    this.appendEntry(EntryKind.transaction, version, writeSet, claimsDigest ?? ZERO_DIGEST);
    this.txsSinceSignature++;
    if (this.txsSinceSignature >= this.options.signatureIntervalTxs) this.startSignature();
    else this.signSoon();
  }

  /**
   * Adaptive signing: a round is free (no signature being made, the last one committed), so the
   * transactions waiting are signed just after this turn, which gathers every write that arrived
   * with it; or, if the last signature started less than `signatureMinIntervalMs` ago, once that
   * floor is reached. Under load a signature is in flight most of the time, and the transactions
   * behind it gather for the next one: batches grow with the round time, and a lone write waits for
   * one round instead of half an interval. The interval timer still signs whatever waits longer.
   *
   * "Just after" is the second `setImmediate`, in the next loop iteration: the first one would run
   * before what this turn queued for its end, such as the write of the responses a commit just
   * completed (write-batch.ts), and a signature made in place holds them back for its whole length
   * (0.5 ms median for P-256 on a loaded primary, docs/performance.md).
   */
  private signSoon(): void {
    const floor = this.options.signatureMinIntervalMs;
    if (
      floor === undefined ||
      floor >= this.options.signatureIntervalMs ||
      this.prompt !== null ||
      this.signing !== null ||
      this.txsSinceSignature === 0 ||
      this.committed < this.lastSignatureSeqno ||
      !this.replicator.isPrimary()
    ) {
      return;
    }
    const fire = () => {
      this.prompt = null;
      if (this.txsSinceSignature > 0 && this.replicator.isPrimary()) this.startSignature();
    };
    const wait = this.lastSignatureStartedAt + floor - performance.now();
    if (wait > 0) this.prompt = setTimeout(fire, Math.ceil(wait));
    else {
      this.prompt = setImmediate(() => {
        this.prompt = setImmediate(fire);
        this.prompt.unref();
      });
    }
    this.prompt.unref();
  }

  private cancelPrompt(): void {
    if (this.prompt === null) return;
    clearTimeout(this.prompt as NodeJS.Timeout);
    clearImmediate(this.prompt as NodeJS.Immediate);
    this.prompt = null;
  }

  private appendEntry(kind: EntryKind, seqno: number, writeSet: WriteSet, claimsDigest: Uint8Array): void {
    assert(seqno === this.ledger.lastSeqno + 1, "entries are appended in seqno order");
    const secret = currentLedgerSecret(this.identity);
    const publicWrites: WriteSet = [];
    const privateWrites: WriteSet = [];
    // A loop, not `filter` callbacks: V8 drops a per-call closure's optimised code at every major GC.
    for (const m of writeSet) (isPublicMapName(m.name) ? publicWrites : privateWrites).push(m);
    const ce = kind === EntryKind.transaction ? this.commitEvidenceFor(this.view, seqno) : null;
    const mac = ce?.mac ?? null;
    const evidence = ce?.digest ?? ZERO_DIGEST;
    const entry = encodeEntry(
      {
        kind,
        view: this.view,
        seqno,
        publicWrites,
        privateWrites,
        claimsDigest,
        commitEvidenceDigest: evidence,
      },
      secret,
    );
    this.ledger.append(entry, seqno, kind === EntryKind.signature);
    if (mac !== null)
      this.receiptCache.recordTransaction(seqno, this.view, entry.writeSetDigest, claimsDigest, mac);
    this.views.record(this.view, seqno);
    // Signatures are announced too (with no writes), so a rewritten seqno always replaces the old one.
    this.announceWriteSet(seqno, kind === EntryKind.transaction ? writeSet : []);
    this.replicator.replicate(seqno, kind === EntryKind.signature, entry.bytes);
  }

  /** The ledger secret of `version` (the one an entry names in its header). */
  secretFor(version: number): LedgerSecret {
    const secret = this.identity.ledgerSecrets.find((s) => s.version === version);
    assert(secret !== undefined, () => `this node holds ledger secret version ${version}`);
    return secret;
  }

  /** The secret in effect at `seqno`: the newest whose version (first seqno it encrypts) is <= seqno. */
  private secretAt(seqno: number): LedgerSecret {
    const secrets = this.identity.ledgerSecrets;
    for (let i = secrets.length - 1; i >= 0; i--)
      if ((secrets[i] as LedgerSecret).version <= seqno) return secrets[i] as LedgerSecret;
    return secrets[0] as LedgerSecret;
  }

  commitEvidenceOf(view: number, seqno: number): string {
    return commitEvidenceOfMac(view, seqno, this.commitEvidenceMacOf(view, seqno));
  }

  private commitEvidenceMacOf(view: number, seqno: number): Uint8Array {
    return commitEvidenceMac(this.commitEvidenceKeyAt(seqno), view, seqno);
  }

  /** How many new entries' commit evidence came from the prefetch windows, and how many missed. */
  get evidencePrefetchStats(): { hits: number; misses: number } {
    return { ...this.evidencePrefetch.stats };
  }

  /** The commit evidence MAC and digest of a new entry: from the prefetch windows, else inline. */
  private commitEvidenceFor(view: number, seqno: number): Evidence {
    const key = this.commitEvidenceKeyAt(seqno);
    const ready = this.evidencePrefetch.take(key, view, seqno);
    if (ready !== null) return ready;
    const mac = commitEvidenceMac(key, view, seqno);
    return { mac, digest: commitEvidenceDigest(commitEvidenceOfMac(view, seqno, mac)) };
  }

  /** The commit-evidence key of the secret in effect at `seqno`, one array per secret. */
  private commitEvidenceKeyAt(seqno: number): Uint8Array {
    const secret = this.secretAt(seqno);
    let key = this.ceKeys.get(secret);
    if (key === undefined) {
      key = commitEvidenceKey(secret.key);
      this.ceKeys.set(secret, key);
    }
    return key;
  }

  /** Appends a signature over the root of every entry so far, signing in place (synchronously). */
  appendSignature(): void {
    const seqno = this.store.version + 1;
    const root = this.ledger.tree.root(seqno - 1);
    const signature = signP1363(this.identity.node.privateKey, signedRootMessage(root, this.view, seqno));
    this.appendSignatureEntry(seqno, root, signature);
  }

  /**
   * Starts a signature over the root of every entry so far on libuv's thread pool (in place for a
   * P-256 key, see `signInPlace`), unless one is under way. Until it settles, `execute` holds
   * writes back (the signature owns the next seqno).
   * It is appended only if nothing else took that seqno meanwhile and this node is still the
   * primary of the same view with the same suffix; otherwise it is dropped (the timer signs again).
   */
  private startSignature(): void {
    if (this.signing !== null) return;
    this.cancelPrompt();
    this.lastSignatureStartedAt = performance.now();
    if (this.signInPlace) {
      this.appendSignature();
      return;
    }
    const seqno = this.store.version + 1;
    const view = this.view;
    const epoch = this.epoch;
    const root = this.ledger.tree.root(seqno - 1);
    const unchanged = () =>
      epoch === this.epoch &&
      view === this.view &&
      this.store.version + 1 === seqno &&
      this.replicator.isPrimary();
    this.signing = signP1363Async(this.identity.node.privateKey, signedRootMessage(root, view, seqno))
      .then(
        (signature) => {
          if (unchanged()) this.appendSignatureEntry(seqno, root, signature);
        },
        // The thread pool refused the job (it should not): sign in place rather than stop signing.
        () => {
          if (unchanged()) this.appendSignature();
        },
      )
      .finally(() => {
        this.signing = null;
      });
  }

  /** Resolves once no signature is being made off the event loop (it was appended or dropped). */
  async signatureSettled(): Promise<void> {
    while (this.signing !== null) await this.signing;
  }

  private appendSignatureEntry(seqno: number, root: Buffer, signature: Uint8Array): void {
    const record = {
      view: this.view,
      seqno,
      tree_size: seqno - 1,
      root: root.toString("hex"),
      node_id: this.identity.nodeId,
      signature: Buffer.from(signature).toString("base64"),
      cert: this.identity.nodeCert,
    };
    const tx = this.store.beginTx({ reservedWrites: true });
    const [map] = signatureWriteSet(record);
    const write = map?.writes[0];
    assert(map !== undefined && write?.value, "signature write set has one record");
    tx.put(map.name, write.key, write.value);
    const commit = this.store.commit(tx);
    assert(commit.status === "ok" && commit.version === seqno, "signature commits at the next seqno");
    this.appendEntry(EntryKind.signature, seqno, commit.writeSet, ZERO_DIGEST);
    this.receiptCache.recordSignature(record);
    this.txsSinceSignature = 0;
    this.lastSignatureSeqno = seqno;
  }

  /**
   * This node is no longer primary (the replicator tells it after a Ready that changed its role):
   * it stops the work only a primary needs. Nothing it appended changes.
   */
  steppedDown(): void {
    this.cancelPrompt();
    this.evidencePrefetch.suspend();
  }

  /** Whether the evidence prefetch has a worker thread running (tests, metrics). */
  get evidencePrefetchRunning(): boolean {
    return this.evidencePrefetch.running;
  }

  /** Whether this node executes writes (the primary). */
  get isPrimary(): boolean {
    return this.replicator.isPrimary();
  }

  /** The primary's node id as far as this node knows (itself on a single node), or null. */
  get primaryId(): string | null {
    return this.replicator.leader === undefined ? this.identity.nodeId : this.replicator.leader();
  }

  /**
   * Discards every entry after `seqno` (an unsigned suffix consensus rolled back) from the ledger,
   * the tree, the store and the view history. Never below the commit seqno.
   */
  async rollback(seqno: number): Promise<void> {
    assert(seqno >= this.committed, () => `rollback to ${seqno} below the commit seqno ${this.committed}`);
    if (seqno >= this.ledger.lastSeqno) return;
    this.epoch++;
    await this.ledger.truncate(seqno);
    this.store.rollback(seqno);
    this.receiptCache.discardAbove(seqno);
    this.views.truncate(seqno);
    this.txsSinceSignature = 0;
    if (this.lastSignatureSeqno > seqno) this.lastSignatureSeqno = 0;
    // A rekey in the discarded suffix never happened: forget the secret it introduced.
    const secrets = this.identity.ledgerSecrets;
    while (secrets.length > 1 && (secrets.at(-1)?.version ?? 0) > seqno) secrets.pop();
  }

  private advanceCommit(seqno: number): void {
    assert(seqno >= this.committed, "commit index is monotonic");
    this.committed = seqno;
    this.store.compact(seqno);
    this.applyServiceConfiguration();
    if (this.waiters.length > 0) this.wakeWaiters(seqno);
    // The round is free: sign what arrived while it was in flight.
    if (seqno >= this.lastSignatureSeqno) this.signSoon();
  }

  status(id: TxId): TxStatus {
    if (id.seqno > this.ledger.lastSeqno) return id.view >= this.view ? "Unknown" : "Invalid";
    const actual = this.views.viewOf(id.seqno);
    if (actual !== id.view) return id.view > this.view ? "Unknown" : "Invalid";
    return id.seqno <= this.committed ? "Committed" : "Pending";
  }

  /** Wakes, in the order they asked, the waiters of every seqno up to `seqno`; keeps the rest. */
  private wakeWaiters(seqno: number): void {
    const waiting = this.waiters;
    let kept = 0;
    const due: CommitWaiter[] = [];
    for (const w of waiting) {
      if (w.id.seqno <= seqno) due.push(w);
      else waiting[kept++] = w;
    }
    waiting.length = kept;
    if (kept === 0) this.setWaitTimer(Number.POSITIVE_INFINITY);
    for (const w of due) w.resolve(this.status(w.id));
  }

  /**
   * Resolves with the final status once `id` is committed or invalid, or rejects after `timeoutMs`
   * (never before; at most `WAIT_SWEEP_MS_MIN` after, when many deadlines fall close together).
   * No timer per waiter: one for the earliest deadline, which almost never moves (every client
   * request waits `http.commitWaitMsMax`, so deadlines come in the order of the waits).
   */
  waitForCommit(id: TxId, timeoutMs: number): Promise<TxStatus> {
    const now = this.status(id);
    if (now !== "Pending") return Promise.resolve(now);
    const { promise, resolve, reject } = Promise.withResolvers<TxStatus>();
    const deadline = performance.now() + timeoutMs;
    this.waiters.push({ id, timeoutMs, deadline, resolve, reject });
    if (deadline < this.waitTimerAt) this.setWaitTimer(deadline);
    return promise;
  }

  /** Sets (or, with Infinity, clears) the one timer of the waiters' deadlines. */
  private setWaitTimer(at: number): void {
    if (this.waitTimer !== null) clearTimeout(this.waitTimer);
    this.waitTimer = null;
    this.waitTimerAt = at;
    if (at === Number.POSITIVE_INFINITY) return;
    this.waitTimer = setTimeout(() => this.expireWaiters(), Math.max(0, at - performance.now()));
  }

  /** Rejects the waiters whose deadline passed; sets the timer for the earliest one left. */
  private expireWaiters(): void {
    this.waitTimer = null;
    this.waitTimerAt = Number.POSITIVE_INFINITY;
    const now = performance.now();
    const waiting = this.waiters;
    let kept = 0;
    let next = Number.POSITIVE_INFINITY;
    const expired: CommitWaiter[] = [];
    for (const w of waiting) {
      if (w.deadline <= now) expired.push(w);
      else {
        waiting[kept++] = w;
        if (w.deadline < next) next = w.deadline;
      }
    }
    waiting.length = kept;
    // A sweep walks every waiter: deadlines close together share one, WAIT_SWEEP_MS_MIN apart.
    if (kept > 0) this.setWaitTimer(Math.max(next, now + WAIT_SWEEP_MS_MIN));
    for (const w of expired) {
      const id = `${w.id.view}.${w.id.seqno}`;
      w.reject(
        new CoterieError("COTERIE_ERR_TIMEOUT", `transaction ${id} not committed within ${w.timeoutMs} ms`, {
          details: { transaction_id: id },
        }),
      );
    }
  }

  /** The receipt of a committed transaction; null while it is not committed. */
  receipt(id: TxId): Receipt | null {
    const source = this.receiptSource(id);
    return source === null ? null : this.receiptFrom(id, source);
  }

  private receiptFrom(id: TxId, source: ReceiptSource): Receipt {
    const receipt =
      source.held !== null
        ? receiptOf(this.ledger.tree, id.view, id.seqno, source.held.leaf, source.held.sig)
        : buildReceipt(this.ledger, id.seqno, source.signature, this.commitEvidenceOf(id.view, id.seqno));
    // After a disaster recovery, receipts of earlier transactions verify through this chain.
    const previous = this.previousServiceIdentities();
    return previous.value.length === 0 ? receipt : { ...receipt, service_endorsements: previous.value };
  }

  /**
   * `JSON.stringify(receipt(id))` (the text "null" while there is none), written without the object
   * from what this node holds in memory: a commit answer carries one per write.
   */
  receiptText(id: TxId): string {
    const source = this.receiptSource(id);
    if (source === null) return "null";
    if (source.held === null) return JSON.stringify(this.receiptFrom(id, source));
    const previous = this.previousServiceIdentities();
    if (previous.value.length > 0) previous.json ??= JSON.stringify(previous.value);
    return receiptTextOf(
      this.ledger.tree,
      id.view,
      id.seqno,
      source.held.leaf,
      source.held.sig,
      previous.json,
    );
  }

  /**
   * Where the receipt of `id` comes from: null while it has none (not committed, or its signature
   * not yet); `held` when this node appended both the transaction and its signature and still holds
   * them in memory; otherwise they are read back from the ledger (older, another primary's, or
   * replayed). Both give the same receipt (test/unit/node/receipt-cache.test.ts).
   */
  private receiptSource(id: TxId): ReceiptSource | null {
    if (this.status(id) !== "Committed") return null;
    if (id.seqno < this.ledger.firstSeqno)
      throw new CoterieError(
        "COTERIE_ERR_RECEIPT_UNAVAILABLE",
        `this node started from a snapshot at ${this.ledger.firstSeqno - 1}: the receipt of ${id.view}.${id.seqno} needs the older ledger (ask another node)`,
        { details: { transaction_id: `${id.view}.${id.seqno}`, status: "Committed" } },
      );
    const signature = this.ledger.firstSignatureAfter(id.seqno);
    if (signature === 0 || signature > this.committed) return null;
    const leaf = this.receiptCache.transaction(id.seqno, id.view);
    const sig = leaf === null ? null : this.receiptCache.signature(signature);
    if (leaf === null || sig === null) return { signature, held: null };
    const commitEvidence = commitEvidenceOfMacHex(id.view, id.seqno, leaf.commitEvidenceMac);
    return {
      signature,
      held: {
        leaf: { writeSetDigest: leaf.writeSetDigest, commitEvidence, claimsDigest: leaf.claimsDigest },
        sig,
      },
    };
  }

  /** The service info's `previous_identities` (and their JSON, made on first use), decoded again only when the map changes. */
  private previousServiceIdentities(): { token: object; value: string[]; json?: string } {
    const tx = this.store.beginTx();
    const token = tx.contentToken(serviceInfo.name);
    if (this.previousIdentities?.token !== token) {
      const value = serviceInfo.in(tx).get(SERVICE_INFO_KEY)?.previous_identities ?? [];
      this.previousIdentities = { token, value };
    }
    return this.previousIdentities;
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.cancelPrompt();
    await this.signatureSettled();
    // Only a primary signs; a node that lost the office leaves its unsigned suffix to consensus.
    if (this.txsSinceSignature > 0 && this.replicator.isPrimary()) this.appendSignature();
    await this.evidencePrefetch.close();
    await this.replicator.close();
  }
}

/** Where a committed transaction's receipt comes from (`Engine.receiptSource`). */
type ReceiptSource = { signature: number; held: { leaf: LeafParts; sig: SignatureRecord } | null };
