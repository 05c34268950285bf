import * as z from "zod/mini";
import type { CompiledMeshConfig } from "../manifest/compiled-mesh-config.ts";
import type { RouteRule } from "../resources/http-route.ts";

/** A route's timeouts as edges run them: the resource's, in ms, with the mesh default filled in. */
export const CompiledTimeouts = z.object({
  /** The route's timeouts.request, else the mesh default (then `requestDefault`); 0 or absent: none. */
  request: z.optional(z.number()),
  backendRequest: z.optional(z.number()),
  requestDefault: z.optional(z.boolean()),
});
export type CompiledTimeouts = z.infer<typeof CompiledTimeouts>;

/** A route's timeouts; without a timeouts.request of its own it gets the mesh default ("0s" keeps none). */
export const compileTimeouts =
  (mesh: CompiledMeshConfig) =>
  (t: RouteRule["timeouts"]): CompiledTimeouts =>
    t?.request !== undefined || !mesh.requestTimeoutMs
      ? { request: t?.request, backendRequest: t?.backendRequest }
      : { request: mesh.requestTimeoutMs, backendRequest: t?.backendRequest, requestDefault: true };

export type RequestTimeout = { ms: number; source: "route" | "mesh default" | "caller's deadline" };

/**
 * How long the whole request may take at this edge: the matched route's timeouts.request, else
 * the mesh default (meshConfig.defaultTimeouts.request, 15 s unless set; none when 0s). A deadline
 * the caller sent (x-isomesh-deadline-ms, `callerMs` left) is never exceeded, and it replaces the
 * mesh default: the default is for requests nobody gave a budget, so a service edge behind the
 * gateway keeps the gateway route's timeout.
 */
export function requestTimeoutOf(
  route: { timeouts: CompiledTimeouts } | undefined,
  mesh: Pick<CompiledMeshConfig, "requestTimeoutMs">,
  callerMs?: number,
): RequestTimeout | undefined {
  const own = route ? route.timeouts.request : mesh.requestTimeoutMs;
  const isDefault = !route || route.timeouts.requestDefault === true;
  if (callerMs !== undefined && (isDefault || !own || callerMs < own))
    return { ms: Math.max(0, callerMs), source: "caller's deadline" };
  if (!own) return undefined;
  return { ms: own, source: isDefault ? "mesh default" : "route" };
}

/** The decision record of a timeout, the same at the edge and in a synthetic explanation. */
export const describeTimeout = (t: RequestTimeout) => ({
  stage: "timeout",
  decision: `request timeout ${t.ms} ms (${t.source})`,
  requestMs: t.ms,
  source: t.source,
});
