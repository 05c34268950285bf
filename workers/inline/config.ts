import {
  INLINE_CONTROL,
  INLINE_DEV_GUARD,
  INLINE_RATE_LIMITER,
  INLINE_SNAPSHOTS,
  inlineVersionBinding,
  versionBinding,
} from "../../shared/names.ts";
import type { EdgeEnv } from "../dataplane/env.ts";
import type { InlineAssets } from "./assets.ts";

/** An inline service as its callers' isolates reach it: its edge's snapshot, its versions. */
export type InlineCallee = {
  service: string;
  /** The edge whose snapshot holds the service's config (`<svc>-edge`; no such Worker runs). */
  edge: string;
  versions: string[];
  /** The snapshot a cold isolate starts from (compiled from the manifest's defaults at gen). */
  bootstrap: string;
};

/** What `isomesh gen` writes into an app's generated entry module (scripts/lib/gen-inline.ts). */
export type InlineConfig = {
  mesh: string;
  service: string;
  /** Present when this service is inline: its own inbound stages run before its app's handler (fetch and RPC). */
  inbound?: { edge: string; bootstrap: string };
  /** The app's named entrypoints its callers bind (`calls: [{ service, entrypoint }]`): meshed as its default export is. */
  entrypoints?: string[];
  /**
   * The inline services this app calls, by the binding name its `env` shows (env.RATINGS), and
   * the callee's named entrypoint the binding reaches (env.CART_CHECKOUT: `Checkout`).
   */
  calls: Record<string, InlineCallee & { entrypoint?: string }>;
  refreshIntervalMs?: number;
  accessLog?: string;
  traceSampling?: string;
  /** An inline version with static assets: its own settings, applied after the inbound half (assets.ts). */
  assets?: InlineAssets;
};

/** The mesh's bindings in an app's (or the gateway's) Worker, as an edge of `edge` would have them. */
export function edgeEnvOf(
  raw: Record<string, unknown>,
  o: { mesh: string; edge: string; refreshIntervalMs?: number; accessLog?: string; traceSampling?: string },
  callee?: { service: string; versions: string[]; entrypoints?: readonly string[] },
  names = {
    snapshots: INLINE_SNAPSHOTS,
    control: INLINE_CONTROL,
    rateLimiter: INLINE_RATE_LIMITER,
    devGuard: INLINE_DEV_GUARD,
  },
): EdgeEnv {
  const env: EdgeEnv = {
    EDGE_NAME: o.edge,
    MESH_NAME: o.mesh,
    SNAPSHOTS: raw[names.snapshots] as KVNamespace,
    CONTROL: raw[names.control] as EdgeEnv["CONTROL"],
    RATE_LIMITER: raw[names.rateLimiter] as EdgeEnv["RATE_LIMITER"],
    ...(typeof raw[names.devGuard] === "string" ? { DEV_APP_GUARD: raw[names.devGuard] as string } : {}),
    ...(o.refreshIntervalMs !== undefined ? { REFRESH_INTERVAL_MS: String(o.refreshIntervalMs) } : {}),
    ...(o.accessLog !== undefined ? { ACCESS_LOG: o.accessLog } : {}),
    ...(o.traceSampling !== undefined ? { TRACE_SAMPLING: o.traceSampling } : {}),
  };
  // The service edge's upstream finds a version as VERSION_<V>: the callee's generated binding.
  // Workers RPC to a named entrypoint finds it as VERSION_<V>__<ENTRYPOINT>, as at the edge.
  for (const v of callee?.versions ?? []) {
    env[versionBinding(v)] = raw[inlineVersionBinding(callee!.service, v)];
    for (const ep of callee!.entrypoints ?? [])
      env[versionBinding(v, ep)] = raw[inlineVersionBinding(callee!.service, v, ep)];
  }
  return env;
}
