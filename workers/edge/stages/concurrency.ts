import { MeshError } from "../../../shared/errors.ts";
import type { Snapshot } from "../../../shared/snapshot/schema.ts";
import type { Stage } from "../exchange.ts";
import type { ResilienceState } from "../resilience/state.ts";
import { backendLabel } from "./split.ts";

/** The TrafficPolicy's concurrency limit per backend: over it, 503 `overloaded` instead of queueing. */
export const concurrency = (snapshot: Snapshot, state: ResilienceState): Stage => {
  const limit = snapshot.policy?.concurrencyLimit;
  if (!limit) return (_x, next) => next();
  return async (x, next) => {
    const key = `${snapshot.edge}|${backendLabel(x.backend!)}`;
    if (!state.acquire(key, limit)) {
      x.flags.add("overloaded");
      if (x.record.on)
        x.record.note("concurrency", `${limit} requests already in flight to ${backendLabel(x.backend!)}`, {
          policy: snapshot.policy!.name,
        });
      throw new MeshError(
        "overloaded",
        `concurrency limit ${limit} reached for ${backendLabel(x.backend!)}`,
        { policy: snapshot.policy!.name },
        503,
      );
    }
    try {
      return await next();
    } finally {
      state.release(key);
    }
  };
};
