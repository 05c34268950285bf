import { MeshError } from "../../../shared/errors.ts";
import { describeNormalized, normalizePath } from "../../../shared/routing/normalize-path.ts";
import type { Snapshot } from "../../../shared/snapshot/schema.ts";
import type { FetchExchange, Stage } from "../exchange.ts";

/**
 * Normalizes the path once, before any decision (shared/routing/normalize-path.ts, with the mesh's
 * meshConfig.pathNormalization): policies and routes judge the path the backend receives, so an
 * encoded `/%61dmin` is `/admin` to all three. Reads and writes `path` (and the URL when it changes).
 */
export const normalize = <T extends FetchExchange, R>(snapshot: Snapshot): Stage<T, T, R> => {
  const options = snapshot.meshConfig.path;
  return (x, next) => {
    const result = normalizePath(x.path, options);
    if (!result.ok) {
      x.flags.add("invalid_path");
      throw new MeshError("invalid_path", result.reason);
    }
    if (result.path !== x.path) {
      if (x.record.on) x.record.add(describeNormalized(x.path, result.path));
      x.url.pathname = result.path;
      x.path = x.url.pathname;
    }
    return next(x);
  };
};
