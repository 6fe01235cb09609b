/**
 * The `/app` mount: the built-in app the node was started with, replaced by the governed bundle
 * once a `set_app` commits, and restored when a `remove_app` commits — without a restart.
 *
 * The bundle is read from committed history (an index of the one map
 * `public:coterie.gov.app.bundle` names the last committed write of its key "bundle"), never from
 * uncommitted state, so a proposal that is rolled back is never served. That index is the mount's
 * own: the full history index is made only by the first historical query (indexes.ts). The swap
 * is one assignment of `mount.app`; the frontend pins the app per request, so requests in flight
 * finish on the version they started with, and the old sandbox is disposed only after
 * `retireGraceMs`.
 */
import { type App, withOpenApi } from "../app/index.ts";
import { utf8 } from "../kv/index.ts";
import { decodeEntry, publicWritesOf } from "../ledger/entry.ts";
import { APP_BUNDLE_KEY, type AppBundle, appBundle } from "../tables/governance.ts";
import { CoterieError } from "../util/errors.ts";
import type { Mount } from "./app-runner.ts";
import { knowsPolicies } from "./auth.ts";
import { type LoadedBundle, loadBundle } from "./bundle.ts";
import type { Engine } from "./engine.ts";
import { catchUpNow, HistoryIndex } from "./indexes.ts";
import type { Logger } from "./logger.ts";

export const bundlePollMs = 50;
export const retireGraceMs = 30_000;
const bundleKey = utf8.encode(APP_BUNDLE_KEY);

/** Refuses an app using a policy this node has no authenticator for (at start, not per request). */
export function checkAppPolicies(app: App): void {
  for (const e of app.endpoints) {
    if (!knowsPolicies(e.auth)) {
      throw new CoterieError(
        "COTERIE_ERR_INVALID_INPUT",
        `endpoint ${e.method} ${e.path} uses an unknown auth policy`,
      );
    }
  }
}

export class AppMount {
  readonly mount: Mount;
  private readonly engine: Engine;
  private readonly builtin: App;
  private readonly log: Logger;
  private current: LoadedBundle | null = null;
  /** Seqno of the committed bundle write now served (0: the built-in app). */
  private servedSeqno = 0;
  private timer: NodeJS.Timeout | null = null;
  /** The committed writes of the bundle map, made and started by `start`. */
  private index: HistoryIndex | null = null;

  constructor(engine: Engine, builtin: App, log: Logger) {
    checkAppPolicies(builtin);
    this.engine = engine;
    this.builtin = withOpenApi(builtin);
    this.log = log;
    this.mount = { prefix: "/app", app: this.builtin, reservedWrites: false, requireOpen: true };
  }

  /** Serves the committed bundle now (indexing all history first), then follows changes. */
  start(): void {
    const index = new HistoryIndex(this.engine, { maps: new Set([appBundle.name]) });
    this.index = index;
    index.start();
    catchUpNow(index, this.engine);
    this.refresh();
    if (this.servedSeqno === 0) this.fromState();
    this.timer = setInterval(() => {
      try {
        this.refresh();
      } catch (error) {
        // A ledger read failing here fails every other read too; keep serving what we serve.
        this.log.error("checking for a new app bundle failed", { error: String(error) });
      }
    }, bundlePollMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.index?.stop();
    this.current?.dispose();
    this.current = null;
  }

  /** Swaps the mount if the last committed write of the bundle key is not the one served. */
  refresh(): void {
    const index = this.index;
    if (index === null) return;
    const seqno = index.keySeqnos(appBundle.name, bundleKey, this.servedSeqno + 1, index.indexedSeqno).at(-1);
    if (seqno === undefined) {
      if (index.isFull && index.indexedSeqno < this.engine.committedSeqno) this.refreshFromState();
      return;
    }
    // The bundle map is public: its entry is read without decrypting anything.
    const entry = decodeEntry(this.engine.ledger.files.read(seqno));
    const m = publicWritesOf(entry).find((w) => w.name === appBundle.name);
    const value = m?.writes.find((w) => Buffer.from(w.key).equals(bundleKey))?.value;
    this.servedSeqno = seqno;
    if (value === undefined) return;
    if (value === null) {
      const previous = this.current;
      this.current = null;
      this.mount.app = this.builtin;
      this.log.info("app bundle removed; serving the built-in app", { seqno });
      if (previous !== null) setTimeout(() => previous.dispose(), retireGraceMs).unref();
    } else {
      this.serve(appBundle.valueCodec.decode(value), seqno);
    }
  }

  /**
   * A bundle written before the first entry this node holds (it started from a snapshot) is not in
   * the index: take it from the store, if the version there is committed.
   */
  private fromState(): void {
    const tx = this.engine.store.beginTx();
    const version = appBundle.in(tx).versionOf(APP_BUNDLE_KEY);
    const bundle = appBundle.in(tx).get(APP_BUNDLE_KEY);
    if (version === undefined || bundle === undefined || version > this.engine.committedSeqno) return;
    this.servedSeqno = version;
    this.serve(bundle, version);
  }

  /**
   * The degraded path once the index is full (it no longer sees new writes): a present bundle is
   * served once its version is committed; an absent one counts as removed only when nothing is
   * uncommitted (deletes leave no version to compare).
   */
  private refreshFromState(): void {
    const tx = this.engine.store.beginTx();
    const version = appBundle.in(tx).versionOf(APP_BUNDLE_KEY);
    if (version !== undefined) {
      if (version !== this.servedSeqno) this.fromState();
      return;
    }
    if (this.current !== null && this.engine.lastSeqno === this.engine.committedSeqno) {
      const previous = this.current;
      this.current = null;
      this.servedSeqno = this.engine.committedSeqno;
      this.mount.app = this.builtin;
      this.log.info("app bundle removed; serving the built-in app", { seqno: this.servedSeqno });
      setTimeout(() => previous.dispose(), retireGraceMs).unref();
    }
  }

  /** Loads `bundle` and swaps it in; the previous sandbox is disposed after the grace period. */
  private serve(bundle: AppBundle, seqno: number): void {
    const previous = this.current;
    try {
      this.current = loadBundle(bundle.source, bundle.limits ?? {}, `app-bundle@${seqno}.js`, "process");
    } catch (error) {
      // Governance validated it; a failure here means this node differs (e.g. fewer auth policies).
      this.log.error("committed app bundle failed to load; still serving the previous app", {
        seqno,
        error: String(error),
      });
      return;
    }
    this.mount.app = withOpenApi(this.current.app);
    this.log.info("serving the governed app bundle", { seqno, name: this.current.app.name });
    if (previous !== null) setTimeout(() => previous.dispose(), retireGraceMs).unref();
  }
}
