// Request templates and the weighted mix the load generator draws from. A template is plain JSON
// (it crosses a process boundary) with placeholders substituted per request:
//   {id}     the next value of a per-generator counter (idStart, idStart+1, ...): unique writes
//   {rand}   a uniform random integer in [0, randMax): reads over a preloaded key range
//   {id64}   base64 of "k" + {id};  {rand64}  base64 of "k" + {rand}  (etcd wants base64 keys)
// Bodies must be ASCII so that Content-Length is the string length (checked when compiled).

export type RequestTemplate = {
  /** Label used in reports. */
  name: string;
  /** Relative weight in the mix (> 0). */
  weight: number;
  method: "GET" | "POST" | "PUT";
  path: string;
  body?: string;
  /** Extra request headers, e.g. content-type. */
  headers?: Record<string, string>;
};

export type PlaceholderValues = { id: number; rand: number };

type Part = string | "\u0000id" | "\u0000rand" | "\u0000id64" | "\u0000rand64";

const PLACEHOLDER = /\{(id|rand|id64|rand64)\}/g;
const ASCII = /^[\x20-\x7e]*$/;

function compileParts(text: string): Part[] {
  const parts: Part[] = [];
  let last = 0;
  for (const m of text.matchAll(PLACEHOLDER)) {
    if (m.index > last) parts.push(text.slice(last, m.index));
    parts.push(`\u0000${m[1]}` as Part);
    last = m.index + m[0].length;
  }
  if (last < text.length) parts.push(text.slice(last));
  return parts;
}

function renderParts(parts: readonly Part[], values: PlaceholderValues): string {
  let out = "";
  for (const part of parts) {
    if (part === "\u0000id") out += values.id;
    else if (part === "\u0000rand") out += values.rand;
    else if (part === "\u0000id64") out += Buffer.from(`k${values.id}`).toString("base64");
    else if (part === "\u0000rand64") out += Buffer.from(`k${values.rand}`).toString("base64");
    else out += part;
  }
  return out;
}

/** A template compiled for fast rendering into the bytes of one HTTP/1.1 request. */
export type CompiledTemplate = {
  name: string;
  render: (values: PlaceholderValues) => string;
};

export function compileTemplate(template: RequestTemplate, host: string): CompiledTemplate {
  if (!(template.weight > 0)) throw new RangeError(`template ${template.name}: weight must be > 0`);
  if (!template.path.startsWith("/"))
    throw new RangeError(`template ${template.name}: path must start with /`);
  const body = template.body ?? "";
  if (!ASCII.test(body) || !ASCII.test(template.path)) {
    throw new RangeError(`template ${template.name}: path and body must be printable ASCII`);
  }
  let fixedHeaders = `Host: ${host}\r\n`;
  for (const [k, v] of Object.entries(template.headers ?? {})) fixedHeaders += `${k}: ${v}\r\n`;
  const pathParts = compileParts(template.path);
  const bodyParts = compileParts(body);
  const hasBody = template.body !== undefined;
  const method = template.method;
  return {
    name: template.name,
    render(values) {
      const path = renderParts(pathParts, values);
      if (!hasBody) return `${method} ${path} HTTP/1.1\r\n${fixedHeaders}\r\n`;
      const text = renderParts(bodyParts, values);
      return `${method} ${path} HTTP/1.1\r\n${fixedHeaders}Content-Length: ${text.length}\r\n\r\n${text}`;
    },
  };
}

/** Weighted choice over compiled templates; `pick(u)` maps u in [0, 1) to a template index. */
export class RequestMix {
  readonly templates: readonly CompiledTemplate[];
  private readonly cumulative: number[];

  constructor(templates: readonly RequestTemplate[], host: string) {
    if (templates.length === 0) throw new RangeError("request mix needs at least one template");
    this.templates = templates.map((t) => compileTemplate(t, host));
    const total = templates.reduce((s, t) => s + t.weight, 0);
    let acc = 0;
    this.cumulative = templates.map((t) => (acc += t.weight / total));
    this.cumulative[this.cumulative.length - 1] = 1;
  }

  pick(u: number): number {
    for (let i = 0; i < this.cumulative.length; i++) if (u < this.cumulative[i]!) return i;
    return this.cumulative.length - 1;
  }
}
