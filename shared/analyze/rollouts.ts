import type { Resource, ResourceOf } from "../resources/index.ts";
import type { ResourceIssue } from "../resources/issues.ts";

/**
 * Who owns a service's split. While a Rollout runs it owns the split between its stable and canary
 * (shared/rollout/ownership.ts): a route rule that sends to the stable version gets its weights
 * for the pair from the rollout, which is said here, naming both. A Rollout whose service's routes
 * never send to its stable version has no traffic to shift: the canary would wait for requests
 * forever. Of two Rollouts on one service, only the oldest applies.
 */
export function checkRolloutOwnership(resources: Resource[]): ResourceIssue[] {
  const warnings: ResourceIssue[] = [];
  const owners = new Map<string, ResourceOf<"Rollout">>();
  for (const r of resources) {
    if (r.kind !== "Rollout") continue;
    const service = r.spec.targetRef.name;
    const first = owners.get(service);
    if (first)
      warnings.push({
        resource: `Rollout/${r.metadata.name}`,
        path: "spec.targetRef",
        message: `service ${service} is also targeted by Rollout/${first.metadata.name}; only the oldest Rollout of a service applies`,
      });
    else owners.set(service, r);
  }
  for (const [service, rollout] of owners) {
    const { stable, canary } = rollout.spec;
    const routes = resources.filter(
      (r): r is ResourceOf<"HTTPRoute"> =>
        r.kind === "HTTPRoute" && r.spec.parentRefs.some((p) => p.kind === "Service" && p.name === service),
    );
    let carriesStable = false;
    for (const route of routes)
      route.spec.rules.forEach((rule, i) => {
        if (rule.backendRefs.some((b) => !b.version)) carriesStable = true;
        if (!rule.backendRefs.some((b) => b.version === stable)) return;
        carriesStable = true;
        warnings.push({
          resource: `HTTPRoute/${route.metadata.name}`,
          path: `spec.rules[${i}].backendRefs`,
          message: `Rollout/${rollout.metadata.name} owns the split between ${service} ${stable} and ${canary}: this rule's share for them is divided by the rollout's weights, not the ones written here`,
        });
      });
    if (routes.length && !carriesStable)
      warnings.push({
        resource: `Rollout/${rollout.metadata.name}`,
        path: "spec.stable",
        message: `no rule of ${routes.map((r) => `HTTPRoute/${r.metadata.name}`).join(", ")} sends ${service} traffic to ${stable} or to the default split: the rollout has no traffic to shift, and ${canary} gets only what a rule sends it`,
      });
  }
  return warnings;
}
