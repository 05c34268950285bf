import {
  INLINE_CONTROL,
  INLINE_DEV_GUARD,
  INLINE_RATE_LIMITER,
  INLINE_SNAPSHOTS,
  inlineVersionBinding,
} from "../../shared/names.ts";
import type { EdgeEnv } from "./env.ts";
import { isFetcher } from "./env.ts";
import { bindingTarget, type Reach } from "./upstream.ts";

// What an isolate that runs an inline service's outbound half (an app calling it, or the gateway)
// knows of it, and how the isolate's own bindings become what that half's edge would have.

/** An inline service as its callers' isolates reach it: its edge's snapshot, its versions. */
export type InlineCallee = {
  service: string;
  /** The edge whose snapshot holds the service's config (`<svc>-edge`; no such Worker runs). */
  edge: string;
  versions: string[];
  /** The snapshot a cold isolate starts from (compiled from the manifest's defaults at gen). */
  bootstrap: string;
};

/** Where an isolate finds the mesh's own bindings: an app's are ISOMESH_*, the gateway's its own. */
export type MeshBindingNames = { snapshots: string; control: string; rateLimiter: string; devGuard: string };
export const APP_MESH_BINDINGS: MeshBindingNames = {
  snapshots: INLINE_SNAPSHOTS,
  control: INLINE_CONTROL,
  rateLimiter: INLINE_RATE_LIMITER,
  devGuard: INLINE_DEV_GUARD,
};

/** The mesh's bindings in an app's (or the gateway's) Worker, as an edge of `edge` would have them. */
export function edgeEnvOf(
  raw: Record<string, unknown>,
  o: {
    mesh: string;
    edge: string;
    beaconKeys?: string;
    refreshIntervalMs?: number;
    accessLog?: string;
    traceSampling?: string;
  },
  names: MeshBindingNames = APP_MESH_BINDINGS,
): EdgeEnv {
  return {
    EDGE_NAME: o.edge,
    MESH_NAME: o.mesh,
    BEACON_KEYS: o.beaconKeys,
    SNAPSHOTS: raw[names.snapshots] as KVNamespace,
    CONTROL: raw[names.control] as EdgeEnv["CONTROL"],
    RATE_LIMITER: raw[names.rateLimiter] as EdgeEnv["RATE_LIMITER"],
    ...(typeof raw[names.devGuard] === "string" ? { DEV_APP_GUARD: raw[names.devGuard] as string } : {}),
    ...(o.refreshIntervalMs !== undefined ? { REFRESH_INTERVAL_MS: String(o.refreshIntervalMs) } : {}),
    ...(o.accessLog !== undefined ? { ACCESS_LOG: o.accessLog } : {}),
    ...(o.traceSampling !== undefined ? { TRACE_SAMPLING: o.traceSampling } : {}),
  };
}

/**
 * An inline callee's versions as its caller's isolate reaches them: the hidden bindings gen adds
 * (ISOMESH_V_<SVC>__<V>, and __<ENTRYPOINT> for a named entrypoint), whose props name the caller;
 * the callee runs its inbound half itself.
 */
export const calleeReach =
  (raw: Record<string, unknown>, service: string): Reach =>
  (backend) => {
    const version = backend.version ?? "";
    const binding = raw[inlineVersionBinding(service, version)];
    return isFetcher(binding)
      ? bindingTarget(binding, (ep) => raw[inlineVersionBinding(service, version, ep)], true)
      : undefined;
  };
