import { MeshError } from "../../../shared/errors.ts";
import { normalizePath } from "../../../shared/routing/normalize-path.ts";
import type { Snapshot } from "../../../shared/snapshot/schema.ts";
import type { Stage } from "../exchange.ts";

/**
 * Normalizes the path once, before any decision (shared/routing/normalize-path.ts, with the mesh's
 * meshConfig.pathNormalization): policies and routes judge the path the backend receives, so an
 * encoded `/%61dmin` is `/admin` to all three. A path the mesh refuses (`%00`, or escaped slashes
 * under REJECT_REQUEST) gets 400 invalid_path. The host is normalized with the request's facts.
 */
export const normalize = (snapshot: Snapshot): Stage => {
  const options = snapshot.meshConfig.path;
  return (x, next) => {
    const result = normalizePath(x.url.pathname, options);
    if (!result.ok) {
      x.flags.add("invalid_path");
      throw new MeshError("invalid_path", result.reason);
    }
    if (result.path !== x.url.pathname) {
      if (x.record.on) x.record.note("normalize", `path ${x.url.pathname} is ${result.path}`);
      x.url.pathname = result.path;
      x.facts.path = x.url.pathname;
    }
    return next();
  };
};
