import { GATEWAY, serviceBinding } from "../../shared/names.ts";
import type { EdgeEnv } from "../dataplane/env.ts";
import { calleeReach, edgeEnvOf, type InlineCallee } from "../dataplane/inline-env.ts";
import { buildOutbound } from "../dataplane/pipelines.ts";
import type { DataPlane } from "../dataplane/plane.ts";
import type { Target } from "../dataplane/upstream.ts";

/** The gateway's own bindings, as edgeEnvOf names them. */
const GATEWAY_BINDINGS = {
  snapshots: "SNAPSHOTS",
  control: "CONTROL",
  rateLimiter: "RATE_LIMITER",
  devGuard: "DEV_APP_GUARD",
};

/**
 * The gateway's inline services (the `inline.snapshot` module gen writes beside it), by binding
 * name: each a Target that runs the service's outbound half in the gateway's isolate, which picks
 * the version and calls its Worker directly (binding ISOMESH_V_<SVC>__<V>, props { caller:
 * "gateway" }): gateway → app, one hop.
 */
export function inlineCallees(plane: DataPlane, env: EdgeEnv, callees: InlineCallee[]): Map<string, Target> {
  const targets = new Map<string, Target>();
  const refreshIntervalMs = env.REFRESH_INTERVAL_MS === undefined ? undefined : Number(env.REFRESH_INTERVAL_MS);
  for (const c of callees) {
    const settings = {
      accessLog: env.ACCESS_LOG,
      traceSampling: env.TRACE_SAMPLING,
      refreshIntervalMs,
      beaconKeys: env.BEACON_KEYS,
    };
    const calleeEnv = edgeEnvOf(env, { mesh: env.MESH_NAME, edge: c.edge, ...settings }, GATEWAY_BINDINGS);
    const half = () =>
      plane.half(`out:${c.edge}`, calleeEnv, c.bootstrap, buildOutbound, calleeReach(env, c.service), true);
    targets.set(serviceBinding(c.service), {
      fetch: (input, init, ctx) =>
        plane.fetch(half(), new Request(input, init), ctx, { caller: GATEWAY }, { inIsolate: true }),
      stub: () => undefined,
      inline: true,
    });
  }
  return targets;
}
