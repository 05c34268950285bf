import type { CompiledRoute, Snapshot } from "../snapshot/schema.ts";

export type RequestTimeout = { ms: number; source: "route" | "mesh default" };

/**
 * How long the whole request may take at this edge: the matched route's timeouts.request, else
 * the mesh default (meshConfig.defaultTimeouts.request, 15 s unless set); none when set to 0s.
 * Shared by the edge's route stage and synthetic explain.
 */
export function requestTimeoutOf(route: Pick<CompiledRoute, "timeouts"> | undefined, snapshot: Pick<Snapshot, "meshConfig">): RequestTimeout | undefined {
  const ms = route ? route.timeouts.requestMs : snapshot.meshConfig.requestTimeoutMs;
  if (!ms) return undefined;
  return { ms, source: !route || route.timeouts.requestDefault ? "mesh default" : "route" };
}
