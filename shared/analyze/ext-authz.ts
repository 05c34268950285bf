import { EGRESS } from "../names.ts";
import type { Topology } from "../manifest/topology.ts";
import type { Resource, ResourceOf } from "../resources/index.ts";
import type { ResourceIssue } from "../resources/issues.ts";
import { attachedEdges } from "../snapshot/scope.ts";

/**
 * CUSTOM AuthorizationPolicies (external authorization): the provider is one the manifest declares;
 * a workload uses one provider (Istio's rule); the egress edge and a provider's own service take none
 * (the provider's requests include the checks themselves).
 */
export function checkExtAuthz(topology: Topology, resources: Resource[]): ResourceIssue[] {
  const providers = topology.extensionProviders ?? [];
  const issues: ResourceIssue[] = [];
  const byEdge = new Map<string, { policy: string; provider: string }>();
  const custom = resources.filter(
    (r): r is ResourceOf<"AuthorizationPolicy"> => r.kind === "AuthorizationPolicy" && r.spec.action === "CUSTOM",
  );
  for (const r of custom) {
    const id = `${r.kind}/${r.metadata.name}`;
    const name = r.spec.provider!.name;
    if (!providers.some((p) => p.name === name)) {
      const known = providers.map((p) => p.name).join(", ");
      issues.push({
        resource: id,
        path: "spec.provider.name",
        message: `unknown provider "${name}" (${known ? `known: ${known}` : "the manifest declares none"}; declare it in the manifest's meshConfig.extensionProviders)`,
      });
      continue;
    }
    r.spec.targetRefs.forEach((t, i) => {
      const path = `spec.targetRefs[${i}]`;
      const serving = providers.find((p) => t.kind === "Service" && p.service === t.name);
      if (t.kind === "Gateway" && t.name === EGRESS)
        issues.push({
          resource: id,
          path,
          message: "the egress edge takes no CUSTOM policy: its callers are mesh apps",
        });
      else if (serving)
        issues.push({
          resource: id,
          path,
          message: `service "${t.name}" serves the provider "${serving.name}": its requests include the checks themselves, which are not checked again`,
        });
    });
    for (const edge of attachedEdges(r)) {
      const other = byEdge.get(edge);
      if (other && other.provider !== name)
        issues.push({
          resource: id,
          path: "spec.provider.name",
          message: `${edge} already uses the provider "${other.provider}" (AuthorizationPolicy/${other.policy}): a workload has one CUSTOM provider`,
        });
      else if (!other) byEdge.set(edge, { policy: r.metadata.name, provider: name });
    }
  }
  return issues;
}
