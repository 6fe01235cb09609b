/**
 * Commit evidence computed ahead on a worker thread.
 *
 * Every transaction entry carries the digest of its commit evidence, `ce:<view>.<seqno>:<hex MAC>`
 * (src/ledger/commit-evidence.ts), and the receipt cache keeps its MAC. Both depend only on the
 * commit-evidence key, the view and the seqno, so they can be made before the transaction exists.
 * Made inline they cost the primary's event loop an HMAC object, a string and two hashes per write;
 * computing them here took 11% off a single node's main-thread CPU per write (docs/performance.md,
 * "What each optimisation gained"). Here a worker thread computes windows of `windowTxs` consecutive seqnos of the current
 * view, one message each way per window, and the engine takes each seqno's values from them.
 *
 * A value taken from a window is the one the engine would compute: the worker computes the same
 * MAC, string and digest on the same (key, view, seqno). A seqno no window holds yet (the first after a start,
 * a view change or a rekey, or a worker that fell behind) is a miss, and the engine computes it
 * inline; `take` then asks for the window after it. So the prefetch changes what the event loop
 * spends, never an entry's bytes.
 *
 * The worker is started on the first `take` (only a primary appends transactions) and is
 * unreferenced, so it never keeps a process alive. A node that stops being primary stops it
 * (`suspend`: about 23 MB of resident memory a backup does not need); it starts again if the node
 * is elected again. The key crosses to it by structured clone within
 * this process; it is never logged. If the worker fails, every later `take` misses.
 *
 * The worker is plain JavaScript (`WORKER_SOURCE`) with small heap limits: a TypeScript worker
 * loads Node's type-stripping loader into its own isolate, and measured +48 MB of resident memory
 * against +23 MB for this one. It repeats the three lines of commit-evidence.ts that make the MAC,
 * the string and the digest, taking each digest as latin1 text written into the window rather than
 * as a Buffer (src/crypto/hash.ts says why); test/unit/node/evidence-prefetch.test.ts checks every
 * value it produces against those functions.
 */
import { Worker } from "node:worker_threads";
import { assert } from "../util/assert.ts";

/** `ledger.evidencePrefetchTxs`: seqnos per window (64 bytes each; two windows at most in memory). */
export const EVIDENCE_PREFETCH_TXS_DEFAULT = 1024;

/** A window's slot: the 32-byte MAC, then the 32-byte digest of the evidence string. */
const EVIDENCE_SLOT_BYTES = 64;

/** What the worker is asked for: `count` seqnos from `from` of `view`, under `key`. */
type EvidenceRequest = { id: number; key: Uint8Array; view: number; from: number; count: number };

/** What the worker answers: `count` slots of `EVIDENCE_SLOT_BYTES`, in seqno order. */
type EvidenceWindow = { id: number; data: Uint8Array };

export type Evidence = { mac: Uint8Array; digest: Uint8Array };

type Window = {
  id: number;
  /** The key it was computed under (compared by identity: the engine keeps one array per key). */
  key: Uint8Array;
  view: number;
  from: number;
  count: number;
  /** null until the worker answers. */
  data: Uint8Array | null;
};

/**
 * The worker thread: for each request, the MAC (HMAC-SHA256 of latin1 `<view>.<seqno>`), then the
 * SHA-256 of the UTF-8 evidence string `ce:<view>.<seqno>:<hex MAC>`, per seqno, as in
 * src/ledger/commit-evidence.ts; the window goes back as one transferred buffer. It keeps nothing
 * between requests and logs nothing.
 */
const WORKER_SOURCE = `"use strict";
const { parentPort } = require("node:worker_threads");
const { createHmac, createSecretKey, hash } = require("node:crypto");
parentPort.on("message", (req) => {
  const key = createSecretKey(req.key);
  const data = Buffer.allocUnsafeSlow(req.count * ${EVIDENCE_SLOT_BYTES});
  for (let i = 0; i < req.count; i++) {
    const id = req.view + "." + (req.from + i);
    const at = i * ${EVIDENCE_SLOT_BYTES};
    data.write(createHmac("sha256", key).update(id, "latin1").digest("latin1"), at, 32, "latin1");
    const evidence = "ce:" + id + ":" + data.toString("hex", at, at + 32);
    data.write(hash("sha256", evidence, "latin1"), at + 32, 32, "latin1");
  }
  parentPort.postMessage({ id: req.id, data }, [data.buffer]);
});
`;

/** Enough for the largest window (65,536 seqnos: a 4 MiB buffer) and little more. */
const WORKER_LIMITS = { maxYoungGenerationSizeMb: 1, maxOldGenerationSizeMb: 16 };

export class EvidencePrefetch {
  private readonly windowTxs: number;
  private readonly onFailure: (error: Error) => void;
  private worker: Worker | null = null;
  private failed = false;
  private closed = false;
  /** Ascending by `from`, contiguous, all of one key and view; at most two. */
  private windows: Window[] = [];
  private nextId = 1;
  /** Requests posted and not yet answered, kept or not: a worker behind is not sent more. */
  private inFlight = 0;
  private readonly workerSource: string;
  /** `take`s answered from a window, and those that missed. */
  readonly stats = { hits: 0, misses: 0 };

  /**
   * `windowTxs` 0 disables it: every `take` misses and no worker is started. `workerSource` is for
   * tests (a worker that fails).
   */
  constructor(windowTxs: number, onFailure: (error: Error) => void, workerSource: string = WORKER_SOURCE) {
    assert(Number.isSafeInteger(windowTxs) && windowTxs >= 0, "evidence prefetch window is a count");
    this.windowTxs = windowTxs;
    this.onFailure = onFailure;
    this.workerSource = workerSource;
  }

  /**
   * The MAC and digest of (`view`, `seqno`) under the commit-evidence key `key` if a window holds
   * them, else null. Either way it keeps the next window coming. The arrays returned are views into
   * a window: copy what is kept.
   */
  take(key: Uint8Array, view: number, seqno: number): Evidence | null {
    if (this.windowTxs === 0 || this.failed || this.closed) {
      this.stats.misses++;
      return null;
    }
    const first = this.windows[0];
    if (first !== undefined && (first.key !== key || first.view !== view)) this.windows = [];
    while (this.windows.length > 0) {
      const w = this.windows[0] as Window;
      if (w.from + w.count > seqno) break;
      this.windows.shift();
    }
    const cur = this.windows[0];
    if (cur === undefined || cur.from > seqno) {
      // Nothing covers this seqno (a start, a new view or key, a seqno below the windows after a
      // rollback): start afresh from the next one.
      this.windows = [];
      this.request(key, view, seqno + 1);
      this.stats.misses++;
      return null;
    }
    // Past the middle of the last window: ask for the one after it.
    if (this.windows.length === 1 && seqno - cur.from >= Math.floor(cur.count / 2)) {
      this.request(key, view, cur.from + cur.count);
    }
    if (cur.data === null) {
      this.stats.misses++;
      return null;
    }
    this.stats.hits++;
    const at = (seqno - cur.from) * EVIDENCE_SLOT_BYTES;
    return { mac: cur.data.subarray(at, at + 32), digest: cur.data.subarray(at + 32, at + 64) };
  }

  /** Whether a worker thread is running (started by a `take`, stopped by `suspend` or `close`). */
  get running(): boolean {
    return this.worker !== null;
  }

  /**
   * Stops the worker and forgets the windows; the next `take` misses and starts a new one. For a
   * node that stops being primary: a backup appends no transactions of its own.
   */
  suspend(): void {
    const worker = this.worker;
    if (worker === null) return;
    this.worker = null;
    this.windows = [];
    this.inFlight = 0;
    void worker.terminate();
  }

  /** Stops the worker; later `take`s miss. */
  async close(): Promise<void> {
    this.closed = true;
    this.windows = [];
    const worker = this.worker;
    this.worker = null;
    if (worker !== null) await worker.terminate();
  }

  /**
   * Asks for the window from `from`, unless two requests are still unanswered: after resets (the
   * writes outran the worker, or many came in one event-loop turn) the old ones are still queued in
   * the worker, and more would only pile up windows nobody takes. The next take asks again.
   */
  private request(key: Uint8Array, view: number, from: number): void {
    if (this.inFlight >= 2) return;
    const worker = this.worker ?? this.start();
    if (worker === null) return;
    this.inFlight++;
    const window: Window = { id: this.nextId++, key, view, from, count: this.windowTxs, data: null };
    this.windows.push(window);
    const req: EvidenceRequest = { id: window.id, key, view, from, count: window.count };
    worker.postMessage(req);
  }

  private start(): Worker | null {
    try {
      const worker = new Worker(this.workerSource, { eval: true, resourceLimits: WORKER_LIMITS });
      // A suspended worker's last answers and its exit are not this prefetch's concern any more.
      worker.on("message", (msg: EvidenceWindow) => {
        if (this.worker !== worker) return;
        this.inFlight--;
        const w = this.windows.find((x) => x.id === msg.id);
        if (w !== undefined && msg.data.length === w.count * EVIDENCE_SLOT_BYTES) w.data = msg.data;
      });
      worker.on("error", (e) => {
        if (this.worker === worker) this.fail(e);
      });
      worker.on("exit", (code) => {
        if (this.worker === worker && !this.closed && !this.failed)
          this.fail(new Error(`evidence worker exited with code ${code}`));
      });
      // After the listeners: the worker never keeps the process alive.
      worker.unref();
      this.worker = worker;
      return worker;
    } catch (e) {
      this.fail(e instanceof Error ? e : new Error(String(e)));
      return null;
    }
  }

  private fail(error: Error): void {
    if (this.failed) return;
    this.failed = true;
    this.windows = [];
    const worker = this.worker;
    this.worker = null;
    void worker?.terminate();
    this.onFailure(error);
  }
}
