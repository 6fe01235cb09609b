/**
 * The client-facing HTTPS server: TLS 1.3 only, client certificates requested (not required: some
 * endpoints take no auth), a bounded number of requests in flight, built-in routes under `/node`
 * and `/app/{tx,receipt,commit}`, and the application's endpoints under `/app`.
 */

import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer, type Server } from "node:https";
import type { TLSSocket } from "node:tls";
import { Router } from "../app/index.ts";
import { CoterieError } from "../util/errors.ts";
import { type Mount, runAppEndpoint } from "./app-runner.ts";
import { peerCertificateId } from "./auth.ts";
import { type BuiltinRoute, builtinRoutes } from "./builtin-routes.ts";
import type { NodeConfig } from "./config.ts";
import type { Engine } from "./engine.ts";
import { parseRequestTarget, type RequestTarget, sendError } from "./http.ts";
import type { Logger } from "./logger.ts";
import type { Metrics } from "./metrics.ts";
import { batchWrites } from "./write-batch.ts";

export type FrontendDeps = {
  config: NodeConfig;
  engine: Engine;
  /** Apps by path prefix, e.g. the user app under `/app`, governance under `/gov`. */
  mounts: Mount[];
  log: Logger;
  metrics: Metrics;
  serviceOpen: () => boolean;
  /** True once this node's own retirement (`remove_node`) is committed in its store. */
  selfRetired: () => boolean;
  tls: { key: string; cert: string };
};

/** What routing learned about a request, for its metric. */
type RequestState = {
  started: number;
  /** The matched route's path, or "unmatched". */
  route: string;
  /** False for a route that bounds itself (`ownLimit`): it left `inFlight` when it matched. */
  counted: boolean;
};

export class Frontend {
  readonly server: Server;
  private readonly deps: FrontendDeps;
  /** Routers by app object: a mount whose `app` is swapped (governance `set_app`) gets a new one. */
  private readonly routers = new WeakMap<Mount["app"], Router>();
  /** Built-in routes by method, then path (no key made per request). */
  private readonly builtins = new Map<string, Map<string, BuiltinRoute>>();
  private inFlight = 0;

  constructor(deps: FrontendDeps) {
    this.deps = deps;
    for (const r of builtinRoutes) {
      let byPath = this.builtins.get(r.method);
      if (byPath === undefined) this.builtins.set(r.method, (byPath = new Map()));
      byPath.set(r.path, r);
    }
    this.server = createServer(
      {
        key: deps.tls.key,
        cert: deps.tls.cert,
        minVersion: "TLSv1.3",
        requestCert: true,
        rejectUnauthorized: false,
        keepAliveTimeout: deps.config.http.keepAliveTimeoutMs,
        headersTimeout: deps.config.http.headersTimeoutMs,
        requestTimeout: deps.config.http.headersTimeoutMs + deps.config.http.commitWaitMsMax,
      },
      (req, res) => this.handle(req, res),
    );
    // Responses completing in one turn on one connection share one TLS write (write-batch.ts).
    this.server.on("secureConnection", (socket: TLSSocket) =>
      batchWrites(socket, deps.config.http.responseBatchBytesMax),
    );
  }

  listen(host: string, port: number): Promise<{ host: string; port: number }> {
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(port, host, () => {
        const a = this.server.address();
        if (a === null || typeof a === "string") reject(new Error("server has no address"));
        else resolve({ host: a.address, port: a.port });
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private routerOf(prefix: string, app: Mount["app"]): Router {
    let router = this.routers.get(app);
    if (router === undefined) this.routers.set(app, (router = new Router(app.endpoints, prefix)));
    return router;
  }

  /**
   * The built-in route for a request: its exact path, or under `/node/` one whose last segment is
   * `{name}` (app requests skip that).
   */
  private builtinOf(method: string | undefined, pathname: string): BuiltinRoute | undefined {
    const byPath = this.builtins.get(method ?? "");
    if (byPath === undefined) return undefined;
    const exact = byPath.get(pathname);
    if (exact !== undefined || !pathname.startsWith("/node/")) return exact;
    return byPath.get(`${pathname.slice(0, pathname.lastIndexOf("/"))}/{name}`);
  }

  /**
   * One request: routed and answered by `serve`, then counted in the metrics. No closure is made
   * per request: V8 drops optimised code that no live function object holds, so the per-request
   * closure this used to be was compiled again every 2–3 s under load (~50 ms of TurboFan on a
   * helper thread each time; docs/performance.md, "Closures made per call").
   */
  private handle(req: IncomingMessage, res: ServerResponse): void {
    const state: RequestState = { started: performance.now(), route: "unmatched", counted: true };
    const url = parseRequestTarget(req.url ?? "/");
    this.inFlight++;
    void this.serve(req, res, url, state);
  }

  private async serve(
    req: IncomingMessage,
    res: ServerResponse,
    url: RequestTarget,
    state: RequestState,
  ): Promise<void> {
    let status: number;
    try {
      status = await this.route(req, res, url, state);
    } catch (error: unknown) {
      // Drain an unread body so the connection stays usable for the next request.
      req.resume();
      status = sendError(res, error, this.deps.log);
    }
    if (state.counted) this.inFlight--;
    this.deps.metrics.observe(state.route, status, performance.now() - state.started);
  }

  /**
   * Not `async`: `serve` awaits what it returns and catches what it throws, and an async function
   * returning the endpoint's promise would add a promise and its ticks to every request.
   */
  private route(
    req: IncomingMessage,
    res: ServerResponse,
    url: RequestTarget,
    state: RequestState,
  ): number | Promise<number> {
    const builtin = this.builtinOf(req.method, url.pathname);
    if (builtin?.ownLimit === true) {
      // Bounded by its own route (a snapshot transfer): not one of every client's slots.
      state.counted = false;
      this.inFlight--;
    } else if (this.inFlight > this.deps.config.http.requestsInFlightMax) {
      throw new CoterieError("COTERIE_ERR_TOO_MANY_REQUESTS", "too many requests in flight; retry later");
    }
    // A retired node's state stopped when it left: only its own routes (/node/...) still answer.
    if (!url.pathname.startsWith("/node/") && this.deps.selfRetired()) {
      throw new CoterieError(
        "COTERIE_ERR_NODE_RETIRED",
        "this node was retired from the service; send requests to another node",
        { details: { node_id: this.deps.engine.identity.nodeId } },
      );
    }
    const certId = peerCertificateId(req.socket as TLSSocket);
    if (builtin) {
      state.route = builtin.path;
      return builtin.handle({ req, res, url, certId, deps: this.deps });
    }
    for (const mount of this.deps.mounts) {
      if (!url.pathname.startsWith(`${mount.prefix}/`)) continue;
      // One app version per request, even if governance swaps the mount meanwhile.
      const app = mount.app;
      const match = this.routerOf(mount.prefix, app).match(req.method ?? "GET", url.pathname);
      if (match.kind === "found") {
        state.route = match.route;
        const { endpoint, params } = match;
        const pinned = { ...mount, app };
        return runAppEndpoint({ req, res, url, certId, deps: this.deps, endpoint, params, mount: pinned });
      }
      if (match.kind === "method-not-allowed") {
        throw new CoterieError(
          "COTERIE_ERR_METHOD_NOT_ALLOWED",
          `${req.method} is not allowed on ${url.pathname}`,
          {
            details: { allowed: match.allowed },
          },
        );
      }
    }
    throw new CoterieError("COTERIE_ERR_NOT_FOUND", `no route for ${req.method} ${url.pathname}`);
  }
}
