import { edgeName, EGRESS, GATEWAY } from "../names.ts";
import type { Resource } from "../resources/index.ts";
import type { Topology } from "../manifest/topology.ts";

/** Every edge of a mesh: the gateway, one per service, and the egress edge when the mesh has one. */
export const edgesOf = (t: Topology) => [
  GATEWAY,
  ...t.services.map((s) => edgeName(s.name)),
  ...(t.egress ? [EGRESS] : []),
];

/** A Service ref is that service's edge; a Gateway ref is the ingress gateway or the egress edge. */
const refEdge = (ref: { kind?: string; name: string }) =>
  ref.kind === "Service" ? edgeName(ref.name) : ref.name === EGRESS ? EGRESS : GATEWAY;

/** The edges a policy targets (its own concerns apply there). */
export const attachedEdges = (r: { spec: { targetRefs: { kind?: string; name: string }[] } }) => [
  ...new Set(r.spec.targetRefs.map(refEdge)),
];

/**
 * The edges whose snapshot a resource is an input of. This is the scoping rule: a route or policy
 * only ever reaches the edges it is attached to, so no edge holds the rest of the mesh.
 */
export function edgesFedBy(r: Resource): string[] {
  switch (r.kind) {
    case "HTTPRoute":
      return [...new Set(r.spec.parentRefs.map(refEdge))];
    case "TrafficPolicy":
      // A service's retry budget bounds retries towards it wherever they happen, the gateway's route
      // retries included (Linkerd applies a destination's budget in every client): the gateway reads
      // the policies of services and keeps the budgets of those its routes send to.
      return [
        ...new Set([...attachedEdges(r), ...(r.spec.targetRefs.some((t) => t.kind === "Service") ? [GATEWAY] : [])]),
      ];
    case "RequestAuthentication":
    case "AuthorizationPolicy":
      return attachedEdges(r);
    case "Rollout":
      return [edgeName(r.spec.targetRef.name)];
    case "ExternalService":
      return [EGRESS];
  }
}
