import { exportedMethodNames } from "../rpc/exports.ts";
import { edgeName, EGRESS, GATEWAY } from "../names.ts";
import type { Topology } from "../manifest/topology.ts";
import type { Resource, ResourceOf } from "../resources/index.ts";
import type { HTTPRoute } from "../resources/http-route.ts";
import type { RolloutStatus } from "../resources/rollout.ts";
import { rolloutWeights } from "../rollout/decide.ts";
import { rolloutSource } from "../rollout/ownership.ts";
import { DEFAULT_MESH_CONFIG } from "../manifest/compiled-mesh-config.ts";
import { compileFault } from "../resilience/fault.ts";
import { compileOutlierDetection } from "../resilience/outlier-detection.ts";
import { compileDestinationBudgets, compileRetryBudget } from "../resilience/retry-budget.ts";
import { compileRateLimits } from "../ratelimit/rate-limit.ts";
import { compileExternalHosts, compileExternals } from "../routing/egress-allow.ts";
import { compileTimeouts } from "../routing/request-timeout.ts";
import { compileVirtualHosts, type OwningRollout } from "../routing/routes.ts";
import { compileAuthn } from "../security/authn.ts";
import { compileAuthz } from "../security/authorize.ts";
import { compileExtAuthz } from "../security/ext-authz.ts";
import { type CompiledPolicy, SNAPSHOT_SCHEMA, type Snapshot } from "./schema.ts";
import { snapshotRegexes } from "./regexes.ts";
import { attachedEdges, edgesFedBy } from "./scope.ts";

/** A resource as the store holds it: what the compiler needs beyond the spec is its age. */
export type StoredResource = { resource: Resource; createdAt: number; status?: RolloutStatus };

/**
 * Compiles the scoped snapshot of one edge. `inputs` may hold the whole mesh's resources;
 * only those attached to this edge are read, so the result never grows with the rest of the mesh.
 * Each part is compiled by its concern's own module.
 */
export function compileSnapshot(topology: Topology, edge: string, inputs: StoredResource[], version: number): Snapshot {
  const mine = inputs.filter((s) => edgesFedBy(s.resource).includes(edge));
  const service = topology.services.find((s) => edgeName(s.name) === edge);
  const role = edge === GATEWAY ? "gateway" : edge === EGRESS ? "egress" : "service";
  const meshConfig = topology.meshConfig ?? DEFAULT_MESH_CONFIG;
  const timeouts = compileTimeouts(meshConfig);
  if (role === "service" && !service) throw new Error(`unknown edge "${edge}"`);
  if (role === "egress" && !topology.egress)
    throw new Error(`this mesh has no egress edge (no service declares egress: true)`);
  const ofKind = <K extends Resource["kind"]>(kind: K) =>
    mine
      .filter((s) => s.resource.kind === kind)
      .sort(byAge)
      .map((s) => s.resource as ResourceOf<K>);
  const externals = ofKind("ExternalService");
  const routes = mine.filter((s): s is { resource: HTTPRoute; createdAt: number } => s.resource.kind === "HTTPRoute");
  const rollout = service && owningRollout(mine);
  const policies = ofKind("TrafficPolicy");
  const policy = policies.find((p) => attachedEdges(p).includes(edge));
  const routedTo = new Set(
    routes.flatMap((r) => r.resource.spec.rules.flatMap((rule) => rule.backendRefs.map((b) => b.name))),
  );

  const vhosts =
    role === "egress"
      ? compileExternalHosts(externals, timeouts)
      : compileVirtualHosts(routes, timeouts, service?.name, rollout);
  const compiledPolicy = policy ? compilePolicy(policy) : undefined;
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
    vhosts,
    ...defaults(service, rollout),
    policy: compiledPolicy,
    retryBudgets: role === "gateway" ? compileDestinationBudgets(policies, routedTo) : undefined,
    // The egress edge's callers are mesh apps: it authenticates no end user.
    authn: role === "egress" ? undefined : compileAuthn(ofKind("RequestAuthentication")),
    authz: compileAuthz(ofKind("AuthorizationPolicy")),
    ...extAuthzOf(role, ofKind("AuthorizationPolicy"), topology, service?.name),
    ...(role === "egress" ? { externals: compileExternals(externals) } : {}),
    ...rpcMethodsOf(service),
    ...snapshotRegexes(vhosts, compiledPolicy),
    meshConfig,
  };
}

/** The egress edge asks no provider (the admin API refuses CUSTOM there). */
function extAuthzOf(role: string, policies: ResourceOf<"AuthorizationPolicy">[], topology: Topology, service?: string) {
  const extAuthz = role === "egress" ? undefined : compileExtAuthz(policies, topology.extensionProviders, service);
  return extAuthz ? { extAuthz } : {};
}

function compilePolicy(p: ResourceOf<"TrafficPolicy">): CompiledPolicy {
  const s = p.spec;
  return {
    name: p.metadata.name,
    retryBudget: compileRetryBudget(s.retryBudget),
    outlierDetection: compileOutlierDetection(s.outlierDetection),
    concurrencyLimit: s.concurrencyLimit,
    rateLimits: compileRateLimits(s.rateLimits),
    faultInjection: compileFault(s.faultInjection),
    stickySession: s.stickySession,
    ...(s.idempotentMethods.length ? { idempotentMethods: s.idempotentMethods } : {}),
  };
}

/** The method names a service's versions export, for the labels of its RPC metrics (shared/rpc/exports.ts). */
function rpcMethodsOf(service: Topology["services"][number] | undefined) {
  const names = service && exportedMethodNames(service.exports, service.versions);
  return names ? { rpcMethods: [...names].sort() } : {};
}

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
