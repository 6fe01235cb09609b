/** Matches a method and path against endpoints' path templates. */
import type { Endpoint, HttpMethod } from "./types.ts";

type Compiled = { endpoint: Endpoint; pattern: RegExp; names: string[]; route: string };

export type RouteMatch =
  /** `route` is the prefix and the endpoint's path template, e.g. `/app/log/{id}`. */
  | { kind: "found"; endpoint: Endpoint; params: Record<string, string>; route: string }
  | { kind: "method-not-allowed"; allowed: HttpMethod[] }
  | { kind: "not-found" };

export class Router {
  private readonly routes: Compiled[];

  constructor(endpoints: readonly Endpoint[], prefix = "") {
    this.routes = endpoints.map((endpoint) => {
      const names: string[] = [];
      const source = (prefix + endpoint.path)
        .split("/")
        .map((s) => {
          const m = /^\{(.+)\}$/.exec(s);
          if (!m) return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
          names.push(m[1] as string);
          return "([^/]+)";
        })
        .join("/");
      return { endpoint, pattern: new RegExp(`^${source}$`), names, route: prefix + endpoint.path };
    });
  }

  match(method: string, path: string): RouteMatch {
    const allowed: HttpMethod[] = [];
    for (const r of this.routes) {
      const m = r.pattern.exec(path);
      if (!m) continue;
      if (r.endpoint.method !== method) {
        allowed.push(r.endpoint.method);
        continue;
      }
      const params: Record<string, string> = {};
      for (let i = 0; i < r.names.length; i++) {
        params[r.names[i] as string] = decodeURIComponent(m[i + 1] as string);
      }
      return { kind: "found", endpoint: r.endpoint, params, route: r.route };
    }
    return allowed.length > 0 ? { kind: "method-not-allowed", allowed } : { kind: "not-found" };
  }
}
