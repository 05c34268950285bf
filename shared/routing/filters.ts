import type { Decision } from "../explain/record.ts";
import type { RouteFilter } from "../resources/http-route.ts";
import type { CompiledRoute } from "./routes.ts";
import { backendLabel, type CompiledBackend } from "./split.ts";

export type HeaderModifier = Extract<RouteFilter, { type: "RequestHeaderModifier" }>["requestHeaderModifier"];
type Redirect = Extract<RouteFilter, { type: "RequestRedirect" }>["requestRedirect"];
type Rewrite = Extract<RouteFilter, { type: "URLRewrite" }>["urlRewrite"];
type PathModifier = NonNullable<Redirect["path"]>;

/** Gateway API header modifier: set overwrites, add appends, remove deletes (names are case-insensitive). */
export function modifyHeaders(h: Headers, m: HeaderModifier): void {
  for (const { name, value } of m.set) h.set(name, value);
  for (const { name, value } of m.add) h.append(name, value);
  for (const name of m.remove) h.delete(name);
}

/** Replaces the matched PathPrefix of `path` (element-wise) with `replacement`. */
export function replacePrefix(path: string, prefix: string, replacement: string): string {
  const p = prefix.length > 1 && prefix.endsWith("/") ? prefix.slice(0, -1) : prefix;
  const rest = p === "/" ? path : path.slice(p.length);
  if (replacement.endsWith("/") && rest.startsWith("/")) return replacement + rest.slice(1) || "/";
  if (replacement === "/") return rest.startsWith("/") ? rest : `/${rest}`;
  return replacement + rest || "/";
}

function modifyPath(path: string, mod: PathModifier | undefined, matchedPrefix: string | undefined): string {
  if (!mod) return path;
  if (mod.type === "ReplaceFullPath") return mod.replaceFullPath;
  return replacePrefix(path, matchedPrefix ?? "/", mod.replacePrefixMatch);
}

const DEFAULT_PORT: Record<string, string> = { http: "80", https: "443" };

/** Where a RequestRedirect sends the client (Gateway API: absolute Location, well-known ports omitted). */
export function redirectLocation(
  r: Redirect,
  req: { scheme: string; host: string; port?: string; path: string; search: string },
  matchedPrefix?: string,
): string {
  const scheme = r.scheme ?? req.scheme;
  const host = r.hostname ?? req.host;
  const port =
    r.port !== undefined ? String(r.port) : r.scheme ? DEFAULT_PORT[r.scheme] : (req.port ?? DEFAULT_PORT[req.scheme]);
  const portPart = port && port !== DEFAULT_PORT[scheme] ? `:${port}` : "";
  return `${scheme}://${host}${portPart}${modifyPath(req.path, r.path, matchedPrefix)}${req.search}`;
}

/** The path and host a URLRewrite sends upstream. */
export function rewrite(
  w: Rewrite,
  req: { host: string; path: string },
  matchedPrefix?: string,
): { host: string; path: string } {
  return { host: w.hostname ?? req.host, path: modifyPath(req.path, w.path, matchedPrefix) };
}

type Mirror = Extract<RouteFilter, { type: "RequestMirror" }>["requestMirror"];

/** The share of requests a mirror copies, 0 to 1: `percent`, or `fraction` numerator/denominator (default all). */
const mirrorShare = (m: Mirror) =>
  m.fraction ? m.fraction.numerator / m.fraction.denominator : m.percent !== undefined ? m.percent / 100 : 1;

/** Whether a mirror fires for a request that drew `draw` in [0, 1). */
export const mirrorFires = (m: Mirror, draw: number) => draw < mirrorShare(m);

/** The share a mirror copies, in percent (explain). */
export const mirrorPercent = (m: Mirror) => Math.round(mirrorShare(m) * 1000) / 10;

/** The request a route's filters work on: the backend's URL and headers, and the Host the client sent (a redirect keeps its port). */
export type FilteredRequest = { url: URL; headers: Headers; clientHost: string | null; host: string };

/** What the filters leave to the edge: a redirect to answer instead of calling a backend, and response header modifiers. */
export type FilterOutcome = { redirect?: { status: number; location: string }; responseHeaders: HeaderModifier[] };

/**
 * Applies a rule's Gateway API filters in order to the request the backend will get (header
 * modifiers, URL rewrite) or decides a redirect; mirrors are the mirror stage's. The edge and
 * synthetic explain run the same filters, so explain follows a rewrite to the next hop.
 */
export function applyFilters(
  route: Pick<CompiledRoute, "filters" | "path">,
  req: FilteredRequest,
  record?: (d: Decision) => void,
): FilterOutcome {
  const prefix = route.path.type === "PathPrefix" ? route.path.value : undefined;
  const responseHeaders: HeaderModifier[] = [];
  for (const f of route.filters) {
    switch (f.type) {
      case "RequestHeaderModifier":
        modifyHeaders(req.headers, f.requestHeaderModifier);
        record?.({ stage: "filters", decision: "modified request headers", ...f.requestHeaderModifier });
        break;
      case "ResponseHeaderModifier":
        responseHeaders.push(f.responseHeaderModifier);
        break;
      case "URLRewrite": {
        const next = rewrite(f.urlRewrite, { host: req.url.hostname, path: req.url.pathname }, prefix);
        record?.({
          stage: "filters",
          decision: `rewrote ${req.url.hostname}${req.url.pathname} to ${next.host}${next.path}`,
        });
        if (next.host !== req.url.hostname) {
          req.url.hostname = next.host;
          req.url.port = ""; // the rewritten Host carries no port
        }
        req.url.pathname = next.path;
        req.headers.set("host", req.url.host);
        break;
      }
      case "RequestRedirect": {
        const hostHeader = req.clientHost ?? req.url.host;
        const port = hostHeader.includes(":") && !hostHeader.startsWith("[") ? hostHeader.split(":")[1] : undefined;
        const location = redirectLocation(
          f.requestRedirect,
          {
            scheme: req.url.protocol.replace(":", ""),
            host: req.host,
            port,
            path: req.url.pathname,
            search: req.url.search,
          },
          prefix,
        );
        record?.({ stage: "filters", decision: `redirect ${f.requestRedirect.statusCode} to ${location}` });
        return { redirect: { status: f.requestRedirect.statusCode, location }, responseHeaders };
      }
      case "RequestMirror":
        break;
    }
  }
  return { responseHeaders };
}

const ROOT: CompiledRoute["path"] = { type: "PathPrefix", value: "/" };

/**
 * The picked backend's own filters (Gateway API HTTPBackendRef.filters), applied to the request as
 * the rule's filters left it, only for requests sent to that backend; recorded as the
 * `backendFilters` stage, naming the backend. Undefined when the backend has none. The edge's
 * stage and synthetic explain (once per weighted backend) both call this.
 */
export function applyBackendFilters(
  route: Pick<CompiledRoute, "path"> | undefined,
  backend: CompiledBackend,
  req: FilteredRequest,
  record?: (d: Decision) => void,
): FilterOutcome | undefined {
  if (!backend.filters?.length) return undefined;
  const label = backendLabel(backend);
  return applyFilters(
    { filters: backend.filters, path: route?.path ?? ROOT },
    req,
    record && ((d) => record({ ...d, stage: "backendFilters", backend: label })),
  );
}

/** The flags a RequestMirror sets: on the request it copies, and on the copy where it arrives. */
export const MIRROR_FLAGS = { mirrored: "a RequestMirror sent a copy of it", mirror: "it is such a copy" } as const;
