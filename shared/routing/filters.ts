import type { RouteFilter } from "../resources/http-route.ts";

type HeaderModifier = Extract<RouteFilter, { type: "RequestHeaderModifier" }>["requestHeaderModifier"];
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

/** Whether a mirror fires for this request: `percent`, or `fraction` numerator/denominator (default always). */
export function mirrorFires(
  m: Extract<RouteFilter, { type: "RequestMirror" }>["requestMirror"],
  draw: number,
): boolean {
  if (m.fraction) return draw < m.fraction.numerator / m.fraction.denominator;
  if (m.percent !== undefined) return draw < m.percent / 100;
  return true;
}
