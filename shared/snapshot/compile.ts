import { edgeName, EGRESS, GATEWAY } from "../names.ts";
import type { Topology } from "../manifest/topology.ts";
import type { Resource, ResourceOf } from "../resources/index.ts";
import type { HTTPRoute, RouteRule } from "../resources/http-route.ts";
import type { AuthorizationRule } from "../resources/authorization-policy.ts";
import type { JwtRule } from "../resources/request-authentication.ts";
import {
  type CompiledAuthn,
  type CompiledAuthz,
  type CompiledBackend,
  type CompiledPolicy,
  type CompiledRoute,
  SNAPSHOT_SCHEMA,
  type Snapshot,
  type VirtualHost,
} from "./schema.ts";
import { edgesFedBy } from "./scope.ts";
import type { Rollout, RolloutStatus } from "../resources/rollout.ts";
import { rolloutWeights } from "../rollout/decide.ts";
import { type CompiledMeshConfig, DEFAULT_MESH_CONFIG } from "../manifest/compiled-mesh-config.ts";
import { normalizeHost } from "../routing/host.ts";
import { rolloutSource, splitByRollout } from "../rollout/ownership.ts";

/** A resource as the store holds it: what the compiler needs beyond the spec is its age. */
export type StoredResource = { resource: Resource; createdAt: number; status?: RolloutStatus };

const DEFAULT_BACKOFF_MS = 25; // Envoy's base retry interval
const PATH_RANK = { Exact: 0, RegularExpression: 1, PathPrefix: 2 } as const;

/**
 * Compiles the scoped snapshot of one edge. `inputs` may hold the whole mesh's resources;
 * only those attached to this edge are read, so the result never grows with the rest of the mesh.
 */
export function compileSnapshot(topology: Topology, edge: string, inputs: StoredResource[], version: number): Snapshot {
  const mine = inputs.filter((s) => edgesFedBy(s.resource).includes(edge));
  const service = topology.services.find((s) => edgeName(s.name) === edge);
  const role = edge === GATEWAY ? "gateway" : edge === EGRESS ? "egress" : "service";
  const meshConfig = topology.meshConfig ?? DEFAULT_MESH_CONFIG;
  const timeouts = timeoutsWithDefault(meshConfig);
  if (role === "service" && !service) throw new Error(`unknown edge "${edge}"`);
  if (role === "egress" && !topology.egress)
    throw new Error(`this mesh has no egress edge (no service declares egress: true)`);
  const externals = mine
    .filter((s) => s.resource.kind === "ExternalService")
    .sort(byAge)
    .map((s) => s.resource as ResourceOf<"ExternalService">);

  const routes = mine.filter((s): s is { resource: HTTPRoute; createdAt: number } => s.resource.kind === "HTTPRoute");
  const rollout = service && owningRollout(mine);
  const policies = mine
    .filter((s) => s.resource.kind === "TrafficPolicy")
    .sort(byAge)
    .map((s) => s.resource as ResourceOf<"TrafficPolicy">);

  return {
    schema: SNAPSHOT_SCHEMA,
    mesh: topology.mesh,
    edge,
    role,
    service: service?.name,
    version,
    backends: service
      ? service.versions
      : role === "egress"
        ? externals.map((e) => e.metadata.name)
        : topology.services.map((s) => s.name),
    vhosts:
      role === "egress"
        ? compileExternalHosts(externals, timeouts)
        : compileVirtualHosts(routes, timeouts, service?.name, rollout),
    ...defaults(service, rollout),
    policy: policies[0] ? compilePolicy(policies[0]) : undefined,
    authn: compileAuthn(
      mine
        .filter((s) => s.resource.kind === "RequestAuthentication")
        .sort(byAge)
        .map((s) => s.resource as ResourceOf<"RequestAuthentication">),
    ),
    authz: compileAuthz(
      mine
        .filter((s) => s.resource.kind === "AuthorizationPolicy")
        .sort(byAge)
        .map((s) => s.resource as ResourceOf<"AuthorizationPolicy">),
    ),
    ...(role === "egress"
      ? {
          externals: externals.map((e) => ({
            name: e.metadata.name,
            hosts: e.spec.hosts,
            ports: e.spec.ports.map((p) => ({ number: p.number, protocol: p.protocol })),
            clientCertificate: e.spec.tls?.clientCertificate,
          })),
        }
      : {}),
    meshConfig,
  };
}

/**
 * The egress edge's virtual hosts: each declared host routes everything to its ExternalService,
 * with that service's timeouts and retries. A host declared twice belongs to the oldest declaration.
 */
function compileExternalHosts(
  externals: ResourceOf<"ExternalService">[],
  compileTimeouts: TimeoutCompiler,
): VirtualHost[] {
  const byHost = new Map<string, CompiledRoute>();
  for (const e of externals) {
    const route: CompiledRoute = {
      route: e.metadata.name,
      rule: 0,
      match: 0,
      path: { type: "PathPrefix", value: "/" },
      headers: [],
      queryParams: [],
      filters: [],
      backends: [{ service: e.metadata.name, weight: 1 }],
      timeouts: compileTimeouts(e.spec.timeouts),
      retry: compileRetry(e.spec.retry),
    };
    for (const host of e.spec.hosts) if (!byHost.has(host)) byHost.set(host, route);
  }
  return [...byHost.entries()]
    .map(([host, route]) => ({ hostnames: [host], routes: [route] }))
    .sort((a, b) => a.hostnames[0].localeCompare(b.hostnames[0]));
}

function compileAuthn(list: ResourceOf<"RequestAuthentication">[]): CompiledAuthn | undefined {
  if (list.length === 0) return undefined;
  return { rules: list.flatMap((ra) => ra.spec.jwtRules.map((r) => compileJwtRule(ra.metadata.name, r))) };
}

type JwtRuleInput = Pick<JwtRule, "issuer" | "audiences" | "jwks" | "jwksUri" | "clockSkewSeconds"> &
  Partial<
    Pick<JwtRule, "fromHeaders" | "fromParams" | "forwardOriginalToken" | "outputClaimToHeaders" | "requireExpiration">
  >;

/** A JWT rule as the verifier takes it (inline JWKS parsed): a RequestAuthentication's, or the admin API's OIDC rule. */
export function compileJwtRule(policy: string, r: JwtRuleInput): CompiledAuthn["rules"][number] {
  return {
    policy,
    issuer: r.issuer,
    audiences: r.audiences,
    jwks: r.jwks ? (JSON.parse(r.jwks) as { keys: Record<string, unknown>[] }).keys : undefined,
    jwksUri: r.jwksUri,
    fromHeaders: r.fromHeaders ?? [],
    fromParams: r.fromParams ?? [],
    forwardOriginalToken: r.forwardOriginalToken ?? false,
    outputClaimToHeaders: r.outputClaimToHeaders ?? [],
    clockSkewSeconds: r.clockSkewSeconds,
    requireExpiration: r.requireExpiration ?? false,
  };
}

function compileAuthz(list: ResourceOf<"AuthorizationPolicy">[]): CompiledAuthz | undefined {
  if (list.length === 0) return undefined;
  return {
    policies: list.map((p) => ({
      name: p.metadata.name,
      action: p.spec.action,
      rules: p.spec.rules.map(withNormalizedHosts),
    })),
  };
}

/** Policy hosts compare with the request's normalized host, so they are normalized alike (case, port, trailing dot). */
function withNormalizedHosts(rule: AuthorizationRule): AuthorizationRule {
  if (!rule.to?.some(({ operation: o }) => o.hosts || o.notHosts)) return rule;
  const norm = (hosts: string[] | undefined) => hosts?.map(normalizeHost);
  return {
    ...rule,
    to: rule.to.map(({ operation: o }) => ({ operation: { ...o, hosts: norm(o.hosts), notHosts: norm(o.notHosts) } })),
  };
}

type OwningRollout = { resource: Rollout; status: RolloutStatus };

/** The Rollout that owns a service's split: the oldest with a status (analyze warns about the others). */
function owningRollout(mine: StoredResource[]): OwningRollout | undefined {
  const r = mine.filter((s) => s.resource.kind === "Rollout" && s.status).sort(byAge)[0];
  return r?.resource.kind === "Rollout" && r.status ? { resource: r.resource, status: r.status } : undefined;
}

/** A service's default split: equal across versions, unless a Rollout owns it. */
function defaults(service: { name: string; versions: string[] } | undefined, rollout: OwningRollout | undefined) {
  if (!service) return { defaultBackends: [] };
  if (rollout)
    return {
      defaultBackends: rolloutWeights(rollout.resource.spec, rollout.status, service.versions).map((w) => ({
        service: service.name,
        ...w,
      })),
      defaultSource: rolloutSource(rollout.resource, rollout.status),
    };
  return { defaultBackends: service.versions.map((v) => ({ service: service.name, version: v, weight: 1 })) };
}

const byAge = (a: StoredResource, b: StoredResource) =>
  a.createdAt - b.createdAt || a.resource.metadata.name.localeCompare(b.resource.metadata.name);

/** Groups route entries by hostname (like Envoy virtual hosts) and sorts each by Gateway API precedence. */
function compileVirtualHosts(
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

type TimeoutCompiler = (t: RouteRule["timeouts"]) => CompiledRoute["timeouts"];

/** A route's timeouts; without a timeouts.request of its own it gets the mesh default ("0s" keeps none). */
const timeoutsWithDefault =
  (mesh: CompiledMeshConfig): TimeoutCompiler =>
  (t) =>
    t?.request !== undefined || !mesh.requestTimeoutMs
      ? { requestMs: t?.request, backendRequestMs: t?.backendRequest }
      : { requestMs: mesh.requestTimeoutMs, backendRequestMs: t?.backendRequest, requestDefault: true };

/** A route entry of a service whose split a Rollout owns: the rule's weights as the rollout divides them, and who did. */
function underRollout(entry: CompiledRoute, rollout: OwningRollout): CompiledRoute {
  const backends = splitByRollout(entry.backends, rollout.resource.spec, rollout.status);
  return backends ? { ...entry, backends, weightsFrom: rolloutSource(rollout.resource, rollout.status) } : entry;
}

const compileRetry = (r: RouteRule["retry"]): CompiledRoute["retry"] =>
  r && {
    codes: r.codes,
    attempts: r.attempts,
    backoffMs: r.backoff ?? DEFAULT_BACKOFF_MS,
    unsafeMethods: r.unsafeMethods,
  };

type SortKey = [number, number, number, number, number, number, string, number, number];

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
        filters: rule.filters,
        backends,
        timeouts: compileTimeouts(rule.timeouts),
        retry: compileRetry(rule.retry),
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

function compilePolicy(p: ResourceOf<"TrafficPolicy">): CompiledPolicy {
  const s = p.spec;
  return {
    name: p.metadata.name,
    retryBudget: s.retryBudget ?? { percent: 20, minRetriesPerSecond: 10 },
    outlierDetection: s.outlierDetection && {
      consecutiveErrors: s.outlierDetection.consecutiveErrors,
      intervalMs: s.outlierDetection.interval,
      baseEjectionMs: s.outlierDetection.baseEjectionTime,
      maxEjectionPercent: s.outlierDetection.maxEjectionPercent,
    },
    concurrencyLimit: s.concurrencyLimit,
    rateLimits: s.rateLimits.map((r) => ({ requests: r.requests, perMs: r.per, key: r.key, mode: r.mode })),
    faultInjection: s.faultInjection && {
      headers: s.faultInjection.match?.headers ?? [],
      delay: s.faultInjection.delay && {
        ms: s.faultInjection.delay.fixedDelay,
        percentage: s.faultInjection.delay.percentage,
      },
      abort: s.faultInjection.abort && {
        status: s.faultInjection.abort.httpStatus,
        percentage: s.faultInjection.abort.percentage,
      },
    },
    stickySession: s.stickySession,
  };
}
