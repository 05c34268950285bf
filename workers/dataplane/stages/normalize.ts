import { MeshError } from "../../../shared/errors.ts";
import { describeNormalized, normalizePath } from "../../../shared/routing/normalize-path.ts";
import type { Snapshot } from "../../../shared/snapshot/schema.ts";
import type { PassStage } from "../exchange.ts";

/**
 * Normalizes the path once, before any decision (shared/routing/normalize-path.ts, with the mesh's
 * meshConfig.pathNormalization): policies and routes judge the path the backend receives, so an
 * encoded `/%61dmin` is `/admin` to all three. Reads and writes `facts.path` and `url.pathname`.
 */
export const normalize = (snapshot: Snapshot): PassStage => {
  const options = snapshot.meshConfig.path;
  return (x, next) => {
    const result = normalizePath(x.facts.path, options);
    if (!result.ok) {
      x.flags.add("invalid_path");
      throw new MeshError("invalid_path", result.reason);
    }
    if (result.path !== x.facts.path) {
      if (x.record.on) x.record.add(describeNormalized(x.facts.path, result.path));
      x.url.pathname = result.path;
      x.facts.path = x.url.pathname;
    }
    return next(x);
  };
};
