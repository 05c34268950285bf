// Naming conventions shared by `isomesh gen`, the edge and the control plane.
// One place decides how a service becomes a worker name or a binding name.

export const GATEWAY = "gateway";
export const CONTROL_WORKER = "isomesh-control";
/** The egress edge: apps reach ExternalServices through it (binding EGRESS, props {caller}). */
export const EGRESS = "egress";
export const EGRESS_BINDING = "EGRESS";

/** Worker name of the edge in front of a service. */
export const edgeName = (service: string) => `${service}-edge`;

/** Worker name of one version of a service's app. */
export const versionWorkerName = (service: string, version: string) => `${service}-${version}`;

const ident = (s: string) => s.toUpperCase().replace(/[^A-Z0-9]/g, "_");

/** Binding an app uses to call a service (env.REVIEWS), and the gateway to reach a service edge. */
export const serviceBinding = (service: string) => ident(service);

/** Binding a service edge uses to reach one version of its app. */
export const versionBinding = (version: string) => `VERSION_${ident(version)}`;

/** Binding the control plane uses to nudge an edge. */
export const edgeBinding = (edge: string) => `EDGE_${ident(edge)}`;
