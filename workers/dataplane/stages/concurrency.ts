import { MeshError } from "../../../shared/errors.ts";
import { backendLabel } from "../../../shared/routing/split.ts";
import type { Snapshot } from "../../../shared/snapshot/schema.ts";
import { type Picked, skip, type Stage } from "../exchange.ts";
import type { ResilienceState } from "../resilience/state.ts";

/** The TrafficPolicy's concurrency limit per backend: over it, 503 `overloaded` instead of queueing. Reads `backend`. */
export const concurrency = <T extends Picked, R>(snapshot: Snapshot, state: ResilienceState): Stage<T, T, R> => {
  const limit = snapshot.policy?.concurrencyLimit;
  if (!snapshot.policy || !limit) return skip();
  const policy = snapshot.policy.name;
  return async (x, next) => {
    const backend = backendLabel(x.backend);
    const key = `${snapshot.edge}|${backend}`;
    if (!state.acquire(key, limit)) {
      x.flags.add("overloaded");
      if (x.record.on) x.record.note("concurrency", `${limit} requests already in flight to ${backend}`, { policy });
      throw new MeshError("overloaded", `concurrency limit ${limit} reached for ${backend}`, { policy }, 503);
    }
    try {
      return await next(x);
    } finally {
      state.release(key);
    }
  };
};
