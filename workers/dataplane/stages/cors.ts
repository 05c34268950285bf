import {
  actualResponseEdit,
  allowsOrigin,
  compileCorsFilters,
  describeCors,
  isPreflight,
  preflightHeaders,
} from "../../../shared/routing/cors.ts";
import type { RouteTable } from "../../../shared/routing/match.ts";
import type { Snapshot } from "../../../shared/snapshot/schema.ts";
import { type FetchExchange, skip, type Stage } from "../exchange.ts";

/**
 * The matched rule's CORS filter (Gateway API GEP-1767, shared/routing/cors.ts), before
 * authentication and authorization as Envoy's cors filter runs: a browser's preflight carries no
 * credentials, so it is answered here without reaching a policy or the app; an actual request's
 * response (a refusal included) gets the CORS headers its origin is owed. Filters are compiled
 * when the snapshot is installed; a snapshot without any is left out of the pipeline, and a
 * request without an Origin costs one header read. Reads `headers`; writes `responseHooks`.
 */
export const cors = <T extends FetchExchange>(snapshot: Snapshot, table: RouteTable): Stage<T, T, Response> => {
  const compiled = compileCorsFilters(snapshot.vhosts.flatMap((v) => v.routes));
  if (compiled.size === 0) return skip();
  return (x, next) => {
    const origin = x.headers.get("origin");
    if (origin === null) return next(x);
    const entry = table.match(x);
    const c = entry && compiled.get(entry.filters);
    if (!c) return next(x);
    const allowed = allowsOrigin(c, origin);
    const preflight = isPreflight(x.method, x.headers);
    if (x.record.on) x.record.add(describeCors(entry, origin, allowed, preflight));
    if (preflight)
      // A disallowed origin's preflight is answered too, without CORS headers: the browser then refuses the request.
      return Promise.resolve(
        allowed
          ? new Response(null, { status: 200, headers: preflightHeaders(c, origin, x.headers) })
          : new Response(null, { status: 204 }),
      );
    x.onResponse(actualResponseEdit(c, origin, allowed));
    return next(x);
  };
};
