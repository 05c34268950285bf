import type { CompiledRoute, VirtualHost } from "../snapshot/schema.ts";
import type { RequestFacts } from "./request-facts.ts";

/** A route entry with its tests prepared (regexes compiled once, when the snapshot is loaded). */
export type PreparedRoute = CompiledRoute & { matches: (r: RequestFacts) => boolean };

type PreparedHost = { hostnames: string[]; routes: PreparedRoute[] };

/**
 * The route table of one edge: virtual hosts by hostname (exact, then the longest wildcard
 * suffix, then routes without hostnames, as Envoy picks virtual hosts), each sorted by precedence.
 */
export class RouteTable {
  private readonly exact = new Map<string, PreparedHost>();
  private readonly wildcards: { suffix: string; host: PreparedHost }[] = [];
  private readonly catchAll?: PreparedHost;

  constructor(vhosts: VirtualHost[]) {
    for (const vh of vhosts) {
      const host: PreparedHost = { hostnames: vh.hostnames, routes: vh.routes.map(prepareRoute) };
      if (vh.hostnames.length === 0) this.catchAll = host;
      for (const h of vh.hostnames) {
        if (h.startsWith("*.")) this.wildcards.push({ suffix: h.slice(1), host });
        else this.exact.set(h, host);
      }
    }
    this.wildcards.sort((a, b) => b.suffix.length - a.suffix.length);
  }

  /** The virtual host serving a request's host, or undefined when none does. */
  hostFor(host: string): PreparedHost | undefined {
    return this.exact.get(host) ?? this.wildcards.find((w) => host.endsWith(w.suffix))?.host ?? this.catchAll;
  }

  /** The winning route entry: the first in precedence order whose match holds. */
  match(r: RequestFacts): PreparedRoute | undefined {
    const routes = this.hostFor(r.host)?.routes;
    if (!routes) return undefined;
    for (const route of routes) if (route.matches(r)) return route;
    return undefined;
  }

  /** Every entry that matches, in precedence order (for explanations only: not on the hot path). */
  candidates(r: RequestFacts): PreparedRoute[] {
    return (this.hostFor(r.host)?.routes ?? []).filter((route) => route.matches(r));
  }

  get size(): number {
    const hosts = new Set<PreparedHost>([...this.exact.values(), ...this.wildcards.map((w) => w.host)]);
    if (this.catchAll) hosts.add(this.catchAll);
    let n = 0;
    for (const h of hosts) n += h.routes.length;
    return n;
  }
}

const fullMatch = (source: string) => new RegExp(`^(?:${source})$`);

/** Gateway API PathPrefix matches whole path elements: /shop matches /shop and /shop/x, not /shopping. */
export function pathPrefixMatches(prefix: string, path: string): boolean {
  const p = prefix.length > 1 && prefix.endsWith("/") ? prefix.slice(0, -1) : prefix;
  if (p === "/") return true;
  return path === p || (path.startsWith(p) && path[p.length] === "/");
}

export function prepareRoute(route: CompiledRoute): PreparedRoute {
  const tests: ((r: RequestFacts) => boolean)[] = [];
  const { path } = route;
  if (path.type === "Exact") tests.push((r) => r.path === path.value);
  else if (path.type === "PathPrefix") {
    if (path.value !== "/") tests.push((r) => pathPrefixMatches(path.value, r.path));
  } else {
    const re = fullMatch(path.value);
    tests.push((r) => re.test(r.path));
  }
  if (route.method) {
    const method = route.method;
    tests.push((r) => r.method === method);
  }
  for (const h of route.headers) {
    const name = h.name.toLowerCase();
    if (h.type === "RegularExpression") {
      const re = fullMatch(h.value);
      tests.push((r) => {
        const v = r.headers.get(name);
        return v !== null && re.test(v);
      });
    } else tests.push((r) => r.headers.get(name) === h.value);
  }
  for (const q of route.queryParams) {
    if (q.type === "RegularExpression") {
      const re = fullMatch(q.value);
      tests.push((r) => {
        const v = r.query.get(q.name);
        return v !== null && re.test(v);
      });
    } else tests.push((r) => r.query.get(q.name) === q.value);
  }
  const matches = (r: RequestFacts) => {
    for (const t of tests) if (!t(r)) return false;
    return true;
  };
  return { ...route, matches };
}
