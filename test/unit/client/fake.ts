// A scripted fetch for unit tests: each call is answered by the next step (a Response, or an
// error to throw), and every call's URL, method and headers are recorded.
import type { FetchLike } from "../../../src/client/index.ts";

export type Step = Response | Error | ((url: string, init: RequestInit) => Response | Promise<Response>);
export type Call = { url: string; method: string; headers: Record<string, string>; body: string | null };

export function scriptedFetch(steps: Step[]): FetchLike & { calls: Call[] } {
  const calls: Call[] = [];
  const fn = (async (url: string, init: RequestInit) => {
    const headers = Object.fromEntries(new Headers(init.headers).entries());
    const body =
      init.body === undefined
        ? null
        : typeof init.body === "string"
          ? init.body
          : new TextDecoder().decode(init.body as Uint8Array);
    calls.push({ url, method: init.method ?? "GET", headers, body });
    const step = steps.shift();
    if (step === undefined) throw new Error(`unexpected call ${init.method} ${url}`);
    if (step instanceof Error) throw step;
    return typeof step === "function" ? step(url, init) : step;
  }) as FetchLike & { calls: Call[] };
  fn.calls = calls;
  return fn;
}

export const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });

export const redirect = (location: string, status = 307) =>
  new Response(JSON.stringify({ error: { code: "COTERIE_ERR_NOT_PRIMARY", message: "not primary" } }), {
    status,
    headers: { location, "content-type": "application/json" },
  });

export const refused = () =>
  new TypeError("fetch failed", {
    cause: Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }),
  });
export const reset = () =>
  new TypeError("fetch failed", {
    cause: Object.assign(new Error("socket hang up"), { code: "ECONNRESET" }),
  });

export const fastRetry = { retryBackoff: { initialDelayMs: 1, delayMsMax: 2 } } as const;
