import type { Decision } from "../explain/record.ts";
import type { Snapshot } from "../snapshot/schema.ts";
import { routeLabel, whyBeat } from "./explain-precedence.ts";
import { isCatchAllPath } from "../resources/route-match.ts";
import { regexMatcher } from "../regex/linear-matcher.ts";
import type { RegexPrograms } from "../regex/program.ts";
import { prepareRpcMatch, rpcMatchRank, type RpcTarget } from "../rpc/match.ts";
import type { RequestFacts } from "./request-facts.ts";
import type { CompiledRoute, VirtualHost } from "./routes.ts";
import { type CompiledBackend, withDefaultSplit } from "./split.ts";

/**
 * Where routing sends a request: the winning route entry, or (a service edge without routes) the
 * service's default split. `backends` are the candidates of the split, a version-less backendRef
 * already replaced by the default split, so nothing is expanded per request.
 */
export type Routing = {
  readonly entry?: PreparedRoute;
  readonly backends: readonly CompiledBackend[];
  readonly weightsFrom?: string;
};

/** A route entry with its tests prepared (regexes compiled once, when the snapshot is loaded). */
export type PreparedRoute = CompiledRoute & {
  matches: (r: RequestFacts) => boolean;
  /** Whether a Workers RPC call meets this entry: its rpc match, or no condition at all (the catch-all). */
  matchesRpc: (call: RpcTarget) => boolean;
  readonly routing: Routing;
};

type PreparedHost = { hostnames: string[]; routes: PreparedRoute[] };

/**
 * The route table of one edge: virtual hosts by hostname (exact, then the longest wildcard
 * suffix, then routes without hostnames, as Envoy picks virtual hosts), each sorted by precedence.
 */
export class RouteTable {
  private readonly exact = new Map<string, PreparedHost>();
  private readonly wildcards: { suffix: string; host: PreparedHost }[] = [];
  private readonly catchAll?: PreparedHost;
  /** Route entries (counting each once, whatever the number of its hostnames). */
  readonly size: number;
  /** A service edge's traffic when no route is attached: its default split. */
  readonly defaults: Routing;
  /** What a Workers RPC call can meet (it has no host: the routes without hostnames), in GRPCRoute's order. */
  private rpcRoutes?: PreparedRoute[];

  constructor(
    vhosts: VirtualHost[],
    snapshot?: Pick<Snapshot, "role" | "defaultBackends" | "defaultSource" | "regexes">,
  ) {
    const defaults = snapshot?.role === "service" ? snapshot.defaultBackends : undefined;
    const prepared = new Map<CompiledRoute, PreparedRoute>(); // a route of several hostnames is prepared once
    const prepare = (r: CompiledRoute) => {
      let p = prepared.get(r);
      if (!p) prepared.set(r, (p = prepareRoute(r, defaults, snapshot?.regexes)));
      return p;
    };
    for (const vh of vhosts) {
      const host: PreparedHost = { hostnames: vh.hostnames, routes: vh.routes.map(prepare) };
      if (vh.hostnames.length === 0) this.catchAll = host;
      for (const h of vh.hostnames) {
        if (h.startsWith("*.")) this.wildcards.push({ suffix: h.slice(1), host });
        else this.exact.set(h, host);
      }
    }
    this.wildcards.sort((a, b) => b.suffix.length - a.suffix.length);
    this.size = new Set(
      [...this.exact.values(), ...this.wildcards.map((w) => w.host), ...(this.catchAll ? [this.catchAll] : [])].flatMap(
        (h) => h.routes,
      ),
    ).size;
    this.defaults = { backends: snapshot?.defaultBackends ?? [], weightsFrom: snapshot?.defaultSource };
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

  /**
   * The entry a Workers RPC call takes: rpc matches first, by GRPCRoute's precedence (Exact before
   * RegularExpression, the longest entrypoint, then the longest method), then the catch-alls in
   * Gateway API order. Sorted once per table, on the first call.
   */
  matchRpc(call: RpcTarget): PreparedRoute | undefined {
    for (const route of this.rpcOrder()) if (route.matchesRpc(call)) return route;
    return undefined;
  }

  /** Every entry an RPC call meets, in precedence order (explanations only). */
  rpcCandidates(call: RpcTarget): PreparedRoute[] {
    return this.rpcOrder().filter((route) => route.matchesRpc(call));
  }

  private rpcOrder(): PreparedRoute[] {
    if (this.rpcRoutes) return this.rpcRoutes;
    const routes = this.catchAll?.routes ?? [];
    const rpc = routes.filter((r) => r.rpc);
    const rank = new Map(rpc.map((r) => [r, rpcMatchRank(r.rpc!)]));
    const order = (a: PreparedRoute, b: PreparedRoute) => {
      const [x, y] = [rank.get(a)!, rank.get(b)!];
      return x[0] - y[0] || x[1] - y[1] || x[2] - y[2]; // a stable sort keeps Gateway API order on a tie
    };
    return (this.rpcRoutes = [...rpc.sort(order), ...routes.filter((r) => !r.rpc && isCatchAll(r))]);
  }

  /** Every entry that matches, in precedence order (for explanations only: not on the hot path). */
  candidates(r: RequestFacts): PreparedRoute[] {
    return (this.hostFor(r.host)?.routes ?? []).filter((route) => route.matches(r));
  }
}

export type RouteDecision = { ok: true; routing: Routing } | { ok: false; reason: string };

/**
 * The route stage's decision (Gateway API precedence, precomputed at compile time): the winning
 * entry; on a service edge without any route, its default backends; else no route, and why.
 */
export function decideRoute(table: RouteTable, facts: RequestFacts, role: Snapshot["role"]): RouteDecision {
  const matched = table.match(facts);
  if (matched) return { ok: true, routing: matched.routing };
  if (role === "service" && table.size === 0) return { ok: true, routing: table.defaults };
  return {
    ok: false,
    reason: table.hostFor(facts.host)
      ? "no rule of the routes for this host matched"
      : `no route accepts host ${facts.host}`,
  };
}

/** The route decision for a Workers RPC call, as decideRoute's for a fetch. */
export function decideRpcRoute(table: RouteTable, call: RpcTarget, role: Snapshot["role"]): RouteDecision {
  const matched = table.matchRpc(call);
  if (matched) return { ok: true, routing: matched.routing };
  if (role === "service" && table.size === 0) return { ok: true, routing: table.defaults };
  return { ok: false, reason: `no rule of the routes matches the RPC call ${call.fullName}` };
}

/** An entry with no condition at all: it takes RPC calls too. */
const isCatchAll = (r: CompiledRoute) =>
  isCatchAllPath(r.path) && !r.method && r.headers.length === 0 && r.queryParams.length === 0;

/** The decision record of routing: which entry won and what it beat, or that the default backends apply. */
export function describeRoute(table: RouteTable, facts: RequestFacts | undefined, routing: Routing): Decision {
  const winner = routing.entry;
  if (!winner)
    return {
      stage: "route",
      decision: "no HTTPRoute attached: default backends",
      source: routing.weightsFrom ?? "equal split across versions",
    };
  const others = facts ? table.candidates(facts).filter((c) => c !== winner) : [];
  return {
    stage: "route",
    decision: `matched ${routeLabel(winner)}`,
    route: winner.route,
    rule: winner.rule,
    match: winner.match,
    beat: others.slice(0, 5).map((o) => whyBeat(winner, o)),
  };
}

/** The decision record of routing an RPC call: which entry won and the entries it beat. */
export function describeRpcRoute(table: RouteTable, call: RpcTarget, routing: Routing): Decision {
  const winner = routing.entry;
  if (!winner) return describeRoute(table, undefined, routing);
  const others = table.rpcCandidates(call).filter((c) => c !== winner);
  return {
    stage: "route",
    decision: `matched ${routeLabel(winner)}${winner.rpc ? " (rpc match)" : " (catch-all)"}`,
    route: winner.route,
    rule: winner.rule,
    match: winner.match,
    beat: others
      .slice(0, 5)
      .map(
        (o) =>
          `${routeLabel(winner)} beat ${routeLabel(o)} (${winner.rpc && !o.rpc ? "an rpc match before a catch-all" : "GRPCRoute precedence"})`,
      ),
  };
}

/** Gateway API PathPrefix matches whole path elements: /shop matches /shop and /shop/x, not /shopping. */
export function pathPrefixMatches(prefix: string, path: string): boolean {
  const p = prefix.length > 1 && prefix.endsWith("/") ? prefix.slice(0, -1) : prefix;
  if (p === "/") return true;
  return path === p || (path.startsWith(p) && path[p.length] === "/");
}

/**
 * `defaults`: a service edge's default split, which a version-less backendRef stands for;
 * `regexes`: the snapshot's compiled regular expressions, which every RegularExpression match runs
 * (a full match, in linear time: shared/regex/).
 */
export function prepareRoute(
  route: CompiledRoute,
  defaults?: readonly CompiledBackend[],
  regexes?: RegexPrograms,
): PreparedRoute {
  const fullMatch = (source: string) => regexMatcher(regexes, source);
  const tests: ((r: RequestFacts) => boolean)[] = [];
  const { path } = route;
  if (path.type === "Exact") tests.push((r) => r.path === path.value);
  else if (path.type === "PathPrefix") {
    if (path.value !== "/") tests.push((r) => pathPrefixMatches(path.value, r.path));
  } else {
    const re = fullMatch(path.value);
    tests.push((r) => re(r.path));
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
        return v !== null && re(v);
      });
    } else tests.push((r) => r.headers.get(name) === h.value);
  }
  for (const q of route.queryParams) {
    if (q.type === "RegularExpression") {
      const re = fullMatch(q.value);
      tests.push((r) => {
        const v = r.query.get(q.name);
        return v !== null && re(v);
      });
    } else tests.push((r) => r.query.get(q.name) === q.value);
  }
  const matches = route.rpc
    ? () => false // an rpc match is for Workers RPC calls only
    : (r: RequestFacts) => {
        for (const t of tests) if (!t(r)) return false;
        return true;
      };
  const matchesRpc = route.rpc ? prepareRpcMatch(route.rpc, regexes) : isCatchAll(route) ? () => true : () => false;
  const routing: { entry?: PreparedRoute; backends: readonly CompiledBackend[]; weightsFrom?: string } = {
    backends: defaults ? withDefaultSplit(route.backends, defaults) : route.backends,
    weightsFrom: route.weightsFrom,
  };
  const prepared: PreparedRoute = { ...route, matches, matchesRpc, routing };
  routing.entry = prepared;
  return prepared;
}
