import { edgeName, GATEWAY } from "../names.ts";
import type { Resource } from "../resources/index.ts";
import type { Topology } from "../manifest/topology.ts";

/** Every edge of a mesh: the gateway and one per service. */
export const edgesOf = (t: Topology) => [GATEWAY, ...t.services.map((s) => edgeName(s.name))];

const refEdge = (ref: { kind?: string; name: string }) => (ref.kind === "Service" ? edgeName(ref.name) : GATEWAY);

/**
 * The edges whose snapshot a resource is an input of. This is the scoping rule: a route or policy
 * only ever reaches the edges it is attached to, so no edge holds the rest of the mesh.
 */
export function edgesFedBy(r: Resource): string[] {
  switch (r.kind) {
    case "HTTPRoute":
      return [...new Set(r.spec.parentRefs.map(refEdge))];
    case "TrafficPolicy":
    case "RequestAuthentication":
    case "AuthorizationPolicy":
      return [...new Set(r.spec.targetRefs.map(refEdge))];
    case "Rollout":
      return [edgeName(r.spec.targetRef.name)];
  }
}
