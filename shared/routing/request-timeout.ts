import type { CompiledRoute, Snapshot } from "../snapshot/schema.ts";

export type RequestTimeout = { ms: number; source: "route" | "mesh default" | "caller's deadline" };

/**
 * How long the whole request may take at this edge: the matched route's timeouts.request, else
 * the mesh default (meshConfig.defaultTimeouts.request, 15 s unless set; none when 0s). A deadline
 * the caller sent (x-isomesh-deadline-ms, `callerMs` left) is never exceeded, and it replaces the
 * mesh default: the default is for requests nobody gave a budget, so a service edge behind the
 * gateway keeps the gateway route's timeout. Shared by the edge's route stage and synthetic explain.
 */
export function requestTimeoutOf(
  route: Pick<CompiledRoute, "timeouts"> | undefined,
  snapshot: Pick<Snapshot, "meshConfig">,
  callerMs?: number,
): RequestTimeout | undefined {
  const own = route ? route.timeouts.requestMs : snapshot.meshConfig.requestTimeoutMs;
  const isDefault = !route || route.timeouts.requestDefault === true;
  if (callerMs !== undefined && (isDefault || !own || callerMs < own))
    return { ms: Math.max(0, callerMs), source: "caller's deadline" };
  if (!own) return undefined;
  return { ms: own, source: isDefault ? "mesh default" : "route" };
}
