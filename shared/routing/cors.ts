import type { Decision } from "../explain/record.ts";
import type { CorsPolicy } from "../resources/cors-filter.ts";
import type { CompiledRoute } from "./routes.ts";

// A rule's CORS filter (Gateway API GEP-1767) as the edge answers it: compiled once per snapshot,
// then each request with an Origin is judged against it. The edge stage (workers/dataplane/stages/
// cors.ts) and synthetic explain share these functions. Written here rather than taken from hono's
// cors middleware: that one answers from a Context, knows no `https://*.example.com` origins, and
// cannot leave a disallowed origin without headers while still answering its preflight.

const DEFAULT_PORT: Record<string, string> = { http: "80", https: "443" };
/** An origin as the Fetch standard serializes it: scheme, host, optional port (IPv6 in brackets). */
const ORIGIN = /^(https?):\/\/(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(?::([0-9]{1,5}))?$/;

/** Scheme, lower-case host and port of an origin (the scheme's default port when none is given), or undefined. */
function partsOf(origin: string): { scheme: string; host: string; port: string } | undefined {
  const m = ORIGIN.exec(origin.toLowerCase());
  if (!m) return undefined;
  return { scheme: m[1], host: m[2], port: m[3] ?? DEFAULT_PORT[m[1]] };
}

/** The key two origins that are the same share: `https://a.com` and `https://a.com:443` alike. */
const keyOf = (p: { scheme: string; host: string; port: string }) => `${p.scheme}://${p.host}:${p.port}`;

type Wildcard = { scheme: string; port: string; suffix: string };

/** A CORS filter, ready to judge requests: origins sorted into exact keys and wildcard suffixes, header values joined once. */
export type CompiledCors = {
  readonly policy: CorsPolicy;
  readonly anyOrigin: boolean;
  readonly exact: ReadonlySet<string>;
  readonly wildcards: readonly Wildcard[];
  /** The configured lists as header values (undefined: the header is not sent; "*": echo the request's). */
  readonly methods?: string;
  readonly headers?: string;
  readonly expose?: string;
  readonly maxAge: string;
};

export function compileCors(policy: CorsPolicy): CompiledCors {
  const exact = new Set<string>();
  const wildcards: Wildcard[] = [];
  for (const o of policy.allowOrigins) {
    if (o === "*") continue;
    const m = /^(https?):\/\/(.+?)(?::([0-9]+))?$/.exec(o.toLowerCase())!;
    const [scheme, host, port = DEFAULT_PORT[m[1]]] = [m[1], m[2], m[3]];
    if (host === "*") wildcards.push({ scheme, port, suffix: "" });
    else if (host.startsWith("*.")) wildcards.push({ scheme, port, suffix: host.slice(1) });
    else exact.add(keyOf({ scheme, host, port }));
  }
  const join = (l: readonly string[]) => (l.length ? l.join(", ") : undefined);
  return {
    policy,
    anyOrigin: policy.allowOrigins.includes("*"),
    exact,
    wildcards,
    methods: join(policy.allowMethods),
    headers: join(policy.allowHeaders),
    expose: join(policy.exposeHeaders),
    maxAge: String(policy.maxAge),
  };
}

/** The compiled CORS filter of each rule that has one, by the rule's filter list (shared by the rule's match entries). */
export function compileCorsFilters(routes: Iterable<Pick<CompiledRoute, "filters">>): Map<unknown, CompiledCors> {
  const out = new Map<unknown, CompiledCors>();
  for (const r of routes) {
    const f = r.filters.find((f) => f.type === "CORS");
    if (f && !out.has(r.filters)) out.set(r.filters, compileCors(f.cors));
  }
  return out;
}

/** Whether an Origin is allowed: `*`, one of the exact origins (default ports folded), or under a wildcard of the same scheme and port. */
export function allowsOrigin(c: CompiledCors, origin: string): boolean {
  if (c.anyOrigin) return true;
  const p = partsOf(origin);
  if (!p) return false;
  if (c.exact.has(keyOf(p))) return true;
  for (const w of c.wildcards)
    if (w.scheme === p.scheme && w.port === p.port && p.host.length > w.suffix.length && p.host.endsWith(w.suffix))
      return true;
  return false;
}

/** A CORS preflight (Fetch standard): an OPTIONS with an Origin and the method the real request will use. */
export const isPreflight = (method: string, headers: Headers) =>
  method === "OPTIONS" && headers.has("access-control-request-method");

const ALLOW_ORIGIN = "access-control-allow-origin";

/** The Access-Control-Allow-Origin an allowed origin gets: `*` when every origin is (never with credentials: refused at apply), else the origin itself. */
const allowOriginValue = (c: CompiledCors, origin: string) => (c.anyOrigin ? "*" : origin);

/** Headers of the answer to an allowed origin's preflight; `*` lists answer with what the preflight asked for. */
export function preflightHeaders(c: CompiledCors, origin: string, request: Headers): Headers {
  const h = new Headers({ [ALLOW_ORIGIN]: allowOriginValue(c, origin), "access-control-max-age": c.maxAge });
  if (!c.anyOrigin) h.set("vary", "Origin");
  const asked = (name: string) => request.get(name) ?? undefined;
  const methods = c.methods === "*" ? asked("access-control-request-method") : c.methods;
  const headers = c.headers === "*" ? asked("access-control-request-headers") : c.headers;
  if (methods) h.set("access-control-allow-methods", methods);
  if (headers) h.set("access-control-allow-headers", headers);
  if (c.expose && c.expose !== "*") h.set("access-control-expose-headers", c.expose);
  else if (c.expose === "*" && !c.policy.allowCredentials) h.set("access-control-expose-headers", "*");
  if (c.policy.allowCredentials) h.set("access-control-allow-credentials", "true");
  return h;
}

/** Every header a CORS answer may carry: removed from the app's response when the origin is not allowed. */
const CORS_RESPONSE_HEADERS = [
  ALLOW_ORIGIN,
  "access-control-allow-credentials",
  "access-control-allow-methods",
  "access-control-allow-headers",
  "access-control-expose-headers",
  "access-control-max-age",
];

/**
 * The response edit of an actual (non-preflight) cross-origin request. An allowed origin gets
 * Allow-Origin (with Vary: Origin when it is echoed), Allow-Credentials and Expose-Headers (`*`
 * with credentials is not a wildcard to a browser, so the response's own header names are listed);
 * a disallowed one gets no CORS header at all, even one the app set: the route's policy decides.
 */
export function actualResponseEdit(c: CompiledCors, origin: string, allowed: boolean): (h: Headers) => void {
  if (!allowed) return (h) => CORS_RESPONSE_HEADERS.forEach((n) => h.delete(n));
  const value = allowOriginValue(c, origin);
  return (h) => {
    h.set(ALLOW_ORIGIN, value);
    if (!c.anyOrigin) h.append("vary", "Origin");
    if (c.policy.allowCredentials) h.set("access-control-allow-credentials", "true");
    else h.delete("access-control-allow-credentials");
    if (c.expose === "*" && c.policy.allowCredentials)
      h.set("access-control-expose-headers", [...h.keys()].filter((n) => !n.startsWith("access-control-")).join(", "));
    else if (c.expose) h.set("access-control-expose-headers", c.expose);
  };
}

/** What explain shows: the origin, whether it is allowed, and whether the edge answered a preflight. */
export function describeCors(
  entry: Pick<CompiledRoute, "route" | "rule">,
  origin: string,
  allowed: boolean,
  preflight: boolean,
): Decision {
  const what = `${allowed ? "allowed" : "not allowed: no CORS headers"}${preflight ? "; preflight answered here" : ""}`;
  return { stage: "cors", decision: `origin ${origin} ${what}`, route: entry.route, rule: entry.rule, origin, allowed };
}
