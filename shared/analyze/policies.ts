import type { Resource } from "../resources/index.ts";
import type { Topology } from "../manifest/topology.ts";
import type { ResourceIssue } from "../resources/issues.ts";

/** Two policies of one kind on one target: only the oldest is applied (as Istio resolves conflicts). */
export function checkPolicyConflicts(resources: Resource[]): ResourceIssue[] {
  const warnings: ResourceIssue[] = [];
  const seen = new Map<string, string>();
  for (const r of resources) {
    if (r.kind !== "TrafficPolicy") continue;
    for (const t of r.spec.targetRefs) {
      const key = `${t.kind}/${t.name}`;
      const first = seen.get(key);
      if (first)
        warnings.push({
          resource: `TrafficPolicy/${r.metadata.name}`,
          path: "spec.targetRefs",
          message: `${key} is also targeted by TrafficPolicy/${first}; only the oldest TrafficPolicy of a target applies`,
        });
      else seen.set(key, r.metadata.name);
    }
  }
  return warnings;
}

/** Rules that can never send traffic anywhere. */
export function checkDeadRules(resources: Resource[]): ResourceIssue[] {
  const warnings: ResourceIssue[] = [];
  for (const r of resources) {
    if (r.kind !== "HTTPRoute") continue;
    r.spec.rules.forEach((rule, i) => {
      const redirect = rule.filters.some((f) => f.type === "RequestRedirect");
      if (!redirect && rule.backendRefs.length === 0)
        warnings.push({
          resource: `HTTPRoute/${r.metadata.name}`,
          path: `spec.rules[${i}].backendRefs`,
          message: "no backendRefs: matching requests get 500 no_backend",
        });
      else if (rule.backendRefs.length && rule.backendRefs.every((b) => b.weight === 0))
        warnings.push({
          resource: `HTTPRoute/${r.metadata.name}`,
          path: `spec.rules[${i}].backendRefs`,
          message: "every backendRef has weight 0: matching requests get 500 no_backend",
        });
    });
  }
  return warnings;
}

/** Config that is valid but leaves the mesh unreachable from outside (analyze only, not on apply). */
export function checkGatewayRoutes(resources: Resource[]): ResourceIssue[] {
  const hasGatewayRoute = resources.some(
    (r) => r.kind === "HTTPRoute" && r.spec.parentRefs.some((p) => p.kind === "Gateway"),
  );
  return hasGatewayRoute
    ? []
    : [
        {
          resource: "Gateway/gateway",
          path: "",
          message: "no HTTPRoute is attached to the gateway: every north-south request gets 404 no_route",
        },
      ];
}

/** A host declared by two ExternalServices: the oldest declaration's ports, timeouts and retries apply. */
export function checkExternalHosts(resources: Resource[]): ResourceIssue[] {
  const warnings: ResourceIssue[] = [];
  const seen = new Map<string, string>();
  for (const r of resources) {
    if (r.kind !== "ExternalService") continue;
    r.spec.hosts.forEach((h, i) => {
      const first = seen.get(h);
      if (first)
        warnings.push({
          resource: `ExternalService/${r.metadata.name}`,
          path: `spec.hosts[${i}]`,
          message: `${h} is also declared by ExternalService/${first}; only the oldest declaration applies`,
        });
      else seen.set(h, r.metadata.name);
    });
  }
  return warnings;
}

/** Services that may call out while no ExternalService exists: every call they make is denied (analyze only). */
export function checkEgressUnused(topology: Topology, resources: Resource[]): ResourceIssue[] {
  const callers = topology.services.filter((s) => s.egress).map((s) => s.name);
  if (!topology.egress || callers.length === 0 || resources.some((r) => r.kind === "ExternalService")) return [];
  return [
    {
      resource: "Gateway/egress",
      path: "",
      message: `${callers.join(", ")} may call out (egress: true) but no ExternalService is declared: every call out gets 403 egress_denied`,
    },
  ];
}
