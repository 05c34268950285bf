// Naming conventions shared by `isomesh gen`, the edge and the control plane.
// One place decides how a service becomes a worker name or a binding name.

export const GATEWAY = "gateway";
/** The control plane's short name (its Worker is `<mesh>-control`). */
export const CONTROL = "control";
/** The egress edge: apps reach ExternalServices through it (binding EGRESS, props {caller}). */
export const EGRESS = "egress";
export const EGRESS_BINDING = "EGRESS";

/**
 * A generated Worker's name on the account: prefixed by the mesh, so two meshes share an account.
 * Everything users read (status, metrics, the dashboard, `caller`) keeps the short name.
 */
export const meshWorkerName = (mesh: string, worker: string) => `${mesh}-${worker}`;

/** Short name of the edge in front of a service (its Worker is `<mesh>-<service>-edge`). */
export const edgeName = (service: string) => `${service}-edge`;

/** Short name of one version of a service's app (its Worker is `<mesh>-<service>-<version>`). */
export const versionWorkerName = (service: string, version: string) => `${service}-${version}`;

const ident = (s: string) => s.toUpperCase().replace(/[^A-Z0-9]/g, "_");

/** Binding an app uses to call a service (env.REVIEWS), and the gateway to reach a service edge. */
export const serviceBinding = (service: string) => ident(service);

/** Binding a service edge uses to reach one version of its app: its default entrypoint, or a named one (Workers RPC). */
export const versionBinding = (version: string, entrypoint?: string) =>
  entrypoint ? `VERSION_${ident(version)}__${ident(entrypoint)}` : `VERSION_${ident(version)}`;

/** The edge's named entrypoint for the control plane (refresh): its default entrypoint forwards every method to the app. */
export const EDGE_CONTROL_ENTRYPOINT = "EdgeControl";

/** Binding the control plane uses to nudge an edge. */
export const edgeBinding = (edge: string) => `EDGE_${ident(edge)}`;

/** The inline data plane's own bindings in an app's Worker start with this; the app's `env` never shows them. */
export const INLINE_PREFIX = "ISOMESH_";
export const INLINE_SNAPSHOTS = "ISOMESH_SNAPSHOTS";
export const INLINE_CONTROL = "ISOMESH_CONTROL";
export const INLINE_RATE_LIMITER = "ISOMESH_RATE_LIMITER";
/** An inline version's assets when the app names no binding for them (workers/inline/assets.ts). */
export const INLINE_ASSETS = "ISOMESH_ASSETS";
/** `isomesh dev` only: the secret inline callers show a version when Miniflare's assets router drops props. */
export const INLINE_DEV_GUARD = "ISOMESH_DEV_APP_GUARD";

/** The binding through which an inline callee's client (in the caller's isolate) reaches one of its versions. */
export const inlineVersionBinding = (service: string, version: string, entrypoint?: string) =>
  `${INLINE_PREFIX}V_${ident(service)}__${ident(version)}${entrypoint ? `__${ident(entrypoint)}` : ""}`;

/** The named entrypoint of an app's Worker that its own env's inline call bindings loop back to (workers/inline/loopback.ts). */
export const INLINE_OUTBOUND_ENTRYPOINT = "IsomeshOutbound";

/** The named entrypoint of an inline app's Worker that the control plane nudges (refresh). */
export const INLINE_CONTROL_ENTRYPOINT = "IsomeshInlineControl";

/** Binding the control plane uses to nudge an app version's Worker that runs inline stages. */
export const inlineHolderBinding = (worker: string) => `INLINE_${ident(worker)}`;

/** Binding a service edge asks an external authorization provider's service through (props { caller }). */
export const extAuthzBinding = (service: string) => `EXT_AUTHZ_${ident(service)}`;

/** The same in an inline service's app Worker (its inbound half asks; the app's `env` never shows it). */
export const inlineExtAuthzBinding = (service: string) => `${INLINE_PREFIX}EXT_AUTHZ_${ident(service)}`;
