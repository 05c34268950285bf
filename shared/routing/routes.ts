import * as z from "zod/mini";
import type { HTTPRoute, RouteRule } from "../resources/http-route.ts";
import { HeaderMatch, Method, PathMatch, QueryParamMatch, RpcMatch } from "../resources/route-match.ts";
import { RouteFilter } from "../resources/route-filter.ts";
import type { Rollout, RolloutStatus } from "../resources/rollout.ts";
import { rolloutSource, splitByRollout } from "../rollout/ownership.ts";
import { CompiledRetry, compileRetry } from "../resilience/retry.ts";
import { CompiledTimeouts } from "./request-timeout.ts";
import { CompiledSession, compileSession } from "./session.ts";
import { CompiledBackend } from "./split.ts";

/** One (rule, match) pair of one route: the unit of Gateway API precedence. */
export const CompiledRoute = z.object({
  route: z.string(),
  rule: z.number().check(z.int()),
  ruleName: z.optional(z.string()),
  match: z.number().check(z.int()),
  path: PathMatch,
  method: z.optional(Method),
  headers: z.array(HeaderMatch),
  queryParams: z.array(QueryParamMatch),
  /** isomesh extension: a Workers RPC call's entrypoint and method (GRPCRoute's method match); such an entry never matches a fetch. */
  rpc: z.optional(RpcMatch),
  filters: z.array(RouteFilter),
  backends: z.array(CompiledBackend),
  /** Who decided `backends`' weights when the route did not (a Rollout of the service). */
  weightsFrom: z.optional(z.string()),
  timeouts: CompiledTimeouts,
  retry: z.optional(CompiledRetry),
  /** Gateway API session persistence (GEP-1619): absent when the rule has none. */
  session: z.optional(CompiledSession),
});
export type CompiledRoute = z.infer<typeof CompiledRoute>;

export const VirtualHost = z.object({
  /** Exact names and `*.suffix` wildcards; empty means every host. */
  hostnames: z.array(z.string()),
  /** Sorted by Gateway API precedence: the first that matches wins. */
  routes: z.array(CompiledRoute),
});
export type VirtualHost = z.infer<typeof VirtualHost>;

export type TimeoutCompiler = (t: RouteRule["timeouts"]) => CompiledTimeouts;
export type OwningRollout = { resource: Rollout; status: RolloutStatus };

const PATH_RANK = { Exact: 0, RegularExpression: 1, PathPrefix: 2 } as const;
type SortKey = [number, number, number, number, number, number, string, number, number];

/** Groups route entries by hostname (like Envoy virtual hosts) and sorts each by Gateway API precedence. */
export function compileVirtualHosts(
  routes: { resource: HTTPRoute; createdAt: number }[],
  compileTimeouts: TimeoutCompiler,
  service?: string,
  rollout?: OwningRollout,
): VirtualHost[] {
  const byHost = new Map<string, { entry: CompiledRoute; key: SortKey }[]>();
  for (const { resource, createdAt } of routes) {
    const hosts = resource.spec.hostnames.length ? resource.spec.hostnames : ["*"];
    const entries = compileRoute(resource, createdAt, compileTimeouts, service).map((e) =>
      rollout ? { ...e, entry: underRollout(e.entry, rollout) } : e,
    );
    for (const h of hosts) byHost.set(h, [...(byHost.get(h) ?? []), ...entries]);
  }
  return [...byHost.entries()]
    .map(([host, entries]) => ({
      hostnames: host === "*" ? [] : [host],
      routes: entries.sort((a, b) => compareKeys(a.key, b.key)).map((e) => e.entry),
    }))
    .sort((a, b) => (a.hostnames[0] ?? "").localeCompare(b.hostnames[0] ?? ""));
}

/** A route entry of a service whose split a Rollout owns: the rule's weights as the rollout divides them, and who did. */
function underRollout(entry: CompiledRoute, rollout: OwningRollout): CompiledRoute {
  const backends = splitByRollout(entry.backends, rollout.resource.spec, rollout.status);
  return backends ? { ...entry, backends, weightsFrom: rolloutSource(rollout.resource, rollout.status) } : entry;
}

function compileRoute(
  r: HTTPRoute,
  createdAt: number,
  compileTimeouts: TimeoutCompiler,
  service?: string,
): { entry: CompiledRoute; key: SortKey }[] {
  const out: { entry: CompiledRoute; key: SortKey }[] = [];
  r.spec.rules.forEach((rule, ruleIndex) => {
    const backends: CompiledBackend[] = rule.backendRefs.map((b) => ({
      service: service ?? b.name,
      version: service ? b.version : undefined,
      weight: b.weight,
      ...(b.filters?.length ? { filters: b.filters } : {}),
    }));
    rule.matches.forEach((m, matchIndex) => {
      const entry: CompiledRoute = {
        route: r.metadata.name,
        rule: ruleIndex,
        ruleName: rule.name,
        match: matchIndex,
        path: m.path,
        method: m.method,
        headers: m.headers,
        queryParams: m.queryParams,
        ...(m.rpc ? { rpc: m.rpc } : {}),
        filters: rule.filters,
        backends,
        timeouts: compileTimeouts(rule.timeouts),
        retry: compileRetry(rule.retry),
        ...compileSession(rule.sessionPersistence, service ?? "gateway", r.metadata.name, ruleIndex),
      };
      // Gateway API precedence: exact path, longest prefix, method, most headers, most query params,
      // oldest route, route name, rule order (then match order within the rule).
      const key: SortKey = [
        PATH_RANK[m.path.type],
        -m.path.value.length,
        m.method ? 0 : 1,
        -m.headers.length,
        -m.queryParams.length,
        createdAt,
        r.metadata.name,
        ruleIndex,
        matchIndex,
      ];
      out.push({ entry, key });
    });
  });
  return out;
}

function compareKeys(a: SortKey, b: SortKey): number {
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (x === y) continue;
    return typeof x === "string" ? x.localeCompare(y as string) : (x as number) - (y as number);
  }
  return 0;
}
