/**
 * Routes every node serves whatever the application: node state, health and metrics, and the
 * transaction routes — status (`/app/tx`), receipt (`/app/receipt`) and commit id (`/app/commit`).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { readerPartiesOf } from "../app/index.ts";
import { CoterieError } from "../util/errors.ts";
import { authenticate } from "./auth.ts";
import type { FrontendDeps } from "./frontend.ts";
import { mayReadTransaction } from "./historical.ts";
import { parseTxId, type RequestTarget, sendJson } from "./http.ts";
import { handleJoin } from "./join-route.ts";
import { networkNodes } from "./network-view.ts";
import { handleLatestSnapshot, handleSnapshotFile } from "./snapshot-route.ts";

export type BuiltinCall = {
  req: IncomingMessage;
  res: ServerResponse;
  url: RequestTarget;
  certId: string | null;
  deps: FrontendDeps;
};

export type BuiltinRoute = {
  method: "GET" | "POST";
  /**
   * The exact path, or a path whose last segment is `{name}`: any one segment there (the handler
   * reads and validates it); an exact path wins over it. The metrics label is this template.
   */
  path: string;
  /**
   * True when the handler bounds its own concurrency: such a request is not counted in
   * `http.requestsInFlightMax` (a long transfer would hold a slot of every client's budget).
   */
  ownLimit?: true;
  handle(call: BuiltinCall): number | Promise<number>;
};

const txId = (view: number, seqno: number) => `${view}.${seqno}`;

export const builtinRoutes: BuiltinRoute[] = [
  {
    method: "GET",
    path: "/node/health",
    handle: ({ res }) => {
      sendJson(res, 200, { status: "ok" });
      return 200;
    },
  },
  {
    method: "GET",
    path: "/node/ready",
    handle: ({ res, deps }) => {
      const open = deps.serviceOpen();
      const retired = deps.selfRetired();
      const ready = open && !retired;
      sendJson(res, ready ? 200 : 503, { ready, service_open: open, retired });
      return ready ? 200 : 503;
    },
  },
  {
    method: "GET",
    path: "/node/state",
    handle: ({ res, deps }) => {
      const e = deps.engine;
      sendJson(res, 200, {
        node_id: e.identity.nodeId,
        role: e.isPrimary ? "Primary" : "Backup",
        primary_id: e.primaryId,
        view: e.view,
        last_seqno: e.lastSeqno,
        committed_transaction_id: txId(e.views.viewOf(e.committedSeqno), e.committedSeqno),
        service_open: deps.serviceOpen(),
        platform: deps.config.platform,
      });
      return 200;
    },
  },
  {
    method: "GET",
    path: "/node/network",
    handle: ({ res, deps }) => {
      const e = deps.engine;
      sendJson(res, 200, {
        service_certificate: e.identity.serviceCert,
        current_view: e.view,
        primary_id: e.primaryId,
        nodes: networkNodes(e),
      });
      return 200;
    },
  },
  {
    method: "POST",
    path: "/node/join",
    handle: ({ req, res, deps }) =>
      handleJoin({
        req,
        res,
        engine: deps.engine,
        serviceOpen: deps.serviceOpen,
        bodyBytesMax: deps.config.http.bodyBytesMax,
      }),
  },
  { method: "GET", path: "/node/snapshot/latest", handle: handleLatestSnapshot },
  { method: "GET", path: "/node/snapshot/{name}", ownLimit: true, handle: handleSnapshotFile },
  {
    method: "GET",
    path: "/node/metrics",
    handle: ({ res, deps }) => {
      const text = deps.metrics.render();
      res.writeHead(200, {
        "content-type": "text/plain; version=0.0.4",
        "content-length": Buffer.byteLength(text),
      });
      res.end(text);
      return 200;
    },
  },
  {
    method: "GET",
    path: "/app/commit",
    handle: ({ res, deps }) => {
      const e = deps.engine;
      sendJson(res, 200, { transaction_id: txId(e.views.viewOf(e.committedSeqno), e.committedSeqno) });
      return 200;
    },
  },
  {
    method: "GET",
    path: "/app/tx",
    handle: ({ res, url, deps }) => {
      const id = parseTxId(url.param("transaction_id"));
      sendJson(res, 200, { transaction_id: txId(id.view, id.seqno), status: deps.engine.status(id) });
      return 200;
    },
  },
  {
    method: "GET",
    path: "/app/receipt",
    handle: ({ req, res, url, deps, certId }) => {
      const caller = authenticate(deps.engine.store, { certId, req, body: new Uint8Array(0) }, [
        "user_cert",
        "member_cert",
        "jwt",
      ]);
      const id = parseTxId(url.param("transaction_id"));
      const format = url.param("format") ?? "json";
      if (format !== "json" && format !== "cose") {
        throw new CoterieError("COTERIE_ERR_INVALID_INPUT", 'format must be "json" or "cose"', {
          details: { format },
        });
      }
      let status = deps.engine.status(id);
      // The app's read policy: a transaction the caller may not read answers exactly as a
      // transaction id of the same view that was never written (engine.status's first rule).
      const specs = deps.mounts.find((m) => m.prefix === "/app")?.app.tables ?? [];
      const known = status === "Committed" || status === "Pending";
      if (
        known &&
        !mayReadTransaction(deps.engine, id.seqno, { specs, readerParties: readerPartiesOf(caller) })
      ) {
        status = id.view >= deps.engine.view ? "Unknown" : "Invalid";
      }
      const receipt = status === "Committed" ? deps.engine.receipt(id) : null;
      if (receipt !== null && format === "cose") {
        return deps.engine.coseReceipts.answer(receipt).then((answer) => {
          sendJson(res, 200, answer);
          return 200;
        });
      }
      if (receipt !== null) {
        sendJson(res, 200, receipt);
        return 200;
      }
      const name = txId(id.view, id.seqno);
      if (status === "Pending" || status === "Committed") {
        throw new CoterieError("COTERIE_ERR_RECEIPT_NOT_READY", `transaction ${name} is not committed yet`, {
          details: { transaction_id: name, status },
        });
      }
      throw new CoterieError("COTERIE_ERR_RECEIPT_UNAVAILABLE", `transaction ${name} is ${status}`, {
        details: { transaction_id: name, status },
      });
    },
  },
];
