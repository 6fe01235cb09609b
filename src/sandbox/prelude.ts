/**
 * The guest-side half of the sandbox: JavaScript that runs inside each fresh context before any
 * guest code, as the body of a closure with `$0` = the host-call callback and `$1` = limits (JSON).
 *
 * It (1) makes the global environment deterministic, (2) installs the `host` and `base64` globals,
 * and (3) returns `{ register, dispatch }`, the only two functions the host ever calls. Everything
 * crossing the boundary is a primitive string: JSON text with a one-letter tag (see `reply.ts`), so
 * no isolated-vm object and no host object ever becomes reachable from guest code.
 *
 * Builtins the prelude relies on are captured before guest code runs; a guest that later patches
 * `JSON` or `Array.prototype` can only garble its own replies, which the host validates anyway.
 * No backticks in here: the source is a TypeScript template literal.
 */
export const preludeSource = String.raw`
"use strict";
const hostCall = $0;
const limits = JSON.parse($1);
const G = globalThis;
const parse = JSON.parse, stringify = JSON.stringify, apply = Reflect.apply;
const defineProperty = Object.defineProperty, freeze = Object.freeze;
const ErrorCtor = Error, RangeErrorCtor = RangeError, TypeErrorCtor = TypeError, StringCtor = String;
const slice = String.prototype.slice, fromCharCode = String.fromCharCode;
const U8 = Uint8Array;

function unavailable(what) {
  throw new ErrorCtor(what + " is not available in the sandbox: sandboxed code must be deterministic; " +
    "ask the host for it through a host function");
}

// -- determinism: no clock, no randomness, no GC-dependent or shared-memory behaviour
const OrigDate = G.Date;
function Date(...args) {
  if (new.target === undefined) unavailable("Date()");
  if (args.length === 0) unavailable("new Date() without arguments");
  return Reflect.construct(OrigDate, args, new.target);
}
defineProperty(Date, "prototype", { value: OrigDate.prototype, writable: false });
defineProperty(OrigDate.prototype, "constructor", { value: Date, writable: true, configurable: true });
Date.UTC = OrigDate.UTC;
Date.parse = OrigDate.parse;
Date.now = function now() { unavailable("Date.now()"); };
defineProperty(G, "Date", { value: Date, writable: true, configurable: true });
Math.random = function random() { unavailable("Math.random()"); };
const dtf = G.Intl.DateTimeFormat.prototype;
const formatGet = Object.getOwnPropertyDescriptor(dtf, "format").get;
defineProperty(dtf, "format", { configurable: true, get() {
  const format = apply(formatGet, this, []);
  return function (date) {
    if (date === undefined) unavailable("Intl.DateTimeFormat format() without a date");
    return format(date);
  };
} });
const formatToParts = dtf.formatToParts;
dtf.formatToParts = function (date) {
  if (date === undefined) unavailable("Intl.DateTimeFormat formatToParts() without a date");
  return apply(formatToParts, this, [date]);
};
for (const name of ["WeakRef", "FinalizationRegistry", "SharedArrayBuffer", "Atomics", "WebAssembly"]) {
  delete G[name];
}

// -- host functions: a stable 'host' object whose members are the host functions of the current call
let hostNames = new Set();
const wrappers = new Map();
let lastHostError;
function hostWrapper(name) {
  return function (...args) {
    const json = stringify(args);
    if (json.length > limits.hostCallBytesMax) {
      throw new RangeErrorCtor("host." + name + ": arguments exceed " + limits.hostCallBytesMax + " bytes");
    }
    const reply = hostCall(name, json);
    const tag = reply[0];
    if (tag === "u") return undefined;
    if (tag === "r") return parse(apply(slice, reply, [1]));
    const failure = parse(apply(slice, reply, [1]));
    const error = new ErrorCtor(failure.message);
    if (failure.code !== undefined) error.code = failure.code;
    lastHostError = error;
    throw error;
  };
}
const host = new Proxy(Object.create(null), {
  get(_, name) {
    if (typeof name !== "string" || !hostNames.has(name)) return undefined;
    let wrapper = wrappers.get(name);
    if (wrapper === undefined) wrappers.set(name, (wrapper = hostWrapper(name)));
    return wrapper;
  },
  has(_, name) { return typeof name === "string" && hostNames.has(name); },
  ownKeys() { return [...hostNames]; },
  getOwnPropertyDescriptor(target, name) {
    if (typeof name !== "string" || !hostNames.has(name)) return undefined;
    return { value: this.get(target, name), enumerable: true, configurable: true, writable: false };
  },
  set() { return false; },
  defineProperty() { return false; },
  deleteProperty() { return false; },
});
defineProperty(G, "host", { value: host, writable: false, configurable: false, enumerable: false });

// -- bytes cross the boundary as base64 text; these helpers convert inside the guest
const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const sextets = new U8(128).fill(255);
for (let i = 0; i < 64; i++) sextets[alphabet.charCodeAt(i)] = i;
function encode(bytes) {
  if (!(bytes instanceof U8)) throw new TypeErrorCtor("base64.encode expects a Uint8Array");
  let out = "";
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    out += alphabet[n >> 18] + alphabet[(n >> 12) & 63] +
      (i + 1 < bytes.length ? alphabet[(n >> 6) & 63] : "=") + (i + 2 < bytes.length ? alphabet[n & 63] : "=");
  }
  return out;
}
function decode(text) {
  if (typeof text !== "string" || text.length % 4 !== 0) throw new TypeErrorCtor("base64.decode expects padded base64 text");
  const pad = text.endsWith("==") ? 2 : text.endsWith("=") ? 1 : 0;
  const out = new U8((text.length / 4) * 3 - pad);
  let o = 0;
  for (let i = 0; i < text.length; i += 4) {
    let n = 0;
    for (let j = 0; j < 4; j++) {
      const c = text.charCodeAt(i + j);
      const v = c === 61 && i + j >= text.length - pad ? 0 : c < 128 ? sextets[c] : 255;
      if (v === 255) throw new TypeErrorCtor("base64.decode: invalid character at " + (i + j));
      n = (n << 6) | v;
    }
    if (o < out.length) out[o++] = n >> 16;
    if (o < out.length) out[o++] = (n >> 8) & 255;
    if (o < out.length) out[o++] = n & 255;
  }
  return out;
}
defineProperty(G, "base64", { value: freeze({ encode, decode }), writable: false, configurable: false });

// -- the two entry points the host calls
let namespace;
function register(ns) {
  namespace = ns;
  const kinds = {};
  for (const name of Object.keys(ns)) kinds[name] = typeof ns[name];
  return stringify(kinds);
}
function describeThrow(e) {
  if (e !== undefined && e === lastHostError) return "h";
  let name = "Error", message;
  try {
    if (e instanceof ErrorCtor) { name = StringCtor(e.name); message = StringCtor(e.message); }
    else message = StringCtor(e);
  } catch { message = "(a thrown value that cannot be printed)"; }
  const cut = limits.errorMessageCharsMax;
  return "e" + stringify({ name: apply(slice, name, [0, 100]), message: apply(slice, message, [0, cut]) });
}
function isThenable(value) {
  return value !== null && (typeof value === "object" || typeof value === "function") && typeof value.then === "function";
}
function messageOf(e) {
  try { return apply(slice, StringCtor(e instanceof ErrorCtor ? e.message : e), [0, limits.errorMessageCharsMax]); }
  catch { return "(a thrown value that cannot be printed)"; }
}
function dispatch(exportName, argsJson, namesJson) {
  if (namesJson !== undefined) hostNames = new Set(parse(namesJson));
  lastHostError = undefined;
  const fn = namespace[exportName];
  if (typeof fn !== "function") return "m";
  let result, json;
  try {
    result = apply(fn, undefined, parse(argsJson));
  } catch (e) {
    return describeThrow(e);
  }
  try {
    if (isThenable(result)) return "x" + "it returned a promise; sandboxed functions must be synchronous";
    json = stringify(result);
  } catch (e) {
    return "x" + messageOf(e);
  }
  if (json === undefined) return "r" + "null";
  if (json.length > limits.resultBytesMax) return "l" + json.length;
  return "r" + json;
}
return { register, dispatch };
`;
