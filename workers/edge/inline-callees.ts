import { GATEWAY, serviceBinding } from "../../shared/names.ts";
import { edgeEnvOf, type InlineCallee } from "../inline/config.ts";
import { InlineRuntime } from "../dataplane/runtime.ts";
import type { EdgeEnv } from "../dataplane/env.ts";
import { buildOutbound } from "../dataplane/pipeline.ts";

/** An inline service as the gateway reaches it: its outbound half, run in the gateway's isolate. */
export type InlineClient = { inline(ctx: ExecutionContext, request: Request): Promise<Response> };
// A service binding answers any property with an RPC stub, so a client is known by identity, not by shape.
const clients = new WeakSet<object>();
export const isInlineClient = (v: unknown): v is InlineClient => typeof v === "object" && v !== null && clients.has(v);

/**
 * The gateway's env with each inline service (the `inline.snapshot` module gen writes beside it)
 * as an in-isolate client instead of a binding to its edge: the gateway picks the version and calls
 * its Worker directly (binding ISOMESH_V_<SVC>__<V>, props { caller: "gateway" }).
 */
export function withInlineCallees(
  env: EdgeEnv,
  callees: InlineCallee[],
  isolate: () => string,
): { env: EdgeEnv; runtime?: InlineRuntime } {
  if (callees.length === 0) return { env };
  const runtime = new InlineRuntime(isolate, (batch) => env.CONTROL.report(batch), {
    accessLog: env.ACCESS_LOG,
    traceSampling: env.TRACE_SAMPLING,
  });
  const view: EdgeEnv = { ...env };
  const names = { snapshots: "SNAPSHOTS", control: "CONTROL", rateLimiter: "RATE_LIMITER", devGuard: "DEV_APP_GUARD" };
  const refreshIntervalMs = env.REFRESH_INTERVAL_MS === undefined ? undefined : Number(env.REFRESH_INTERVAL_MS);
  for (const c of callees) {
    const settings = { accessLog: env.ACCESS_LOG, traceSampling: env.TRACE_SAMPLING };
    const calleeEnv = edgeEnvOf(env, { mesh: env.MESH_NAME, edge: c.edge, refreshIntervalMs, ...settings }, c, names);
    const source = () => runtime.source(`out:${c.edge}`, calleeEnv, c.bootstrap, buildOutbound);
    const client: InlineClient = {
      inline: (ctx, request) => runtime.run(source(), calleeEnv, request, ctx, { caller: GATEWAY }),
    };
    clients.add(client);
    view[serviceBinding(c.service)] = client;
  }
  return { env: view, runtime };
}
