import { MeshError } from "../../../shared/errors.ts";
import { decideRoute, describeRoute, type RouteTable } from "../../../shared/routing/match.ts";
import type { Snapshot } from "../../../shared/snapshot/schema.ts";
import { applyTimeout } from "../deadline.ts";
import { type Authenticated, carry, type Routed, type Stage } from "../exchange.ts";

/**
 * Routing (shared/routing/match.ts): the winning route entry by Gateway API precedence, or a
 * service edge's default backends when it has no route. Reads `facts`; sets the request's deadline
 * (the route's timeout, never later than the caller's) and hands on the `route`.
 */
export const route =
  (snapshot: Snapshot, table: RouteTable): Stage<Authenticated, Routed> =>
  async (x, next) => {
    const d = decideRoute(table, x.facts, snapshot.role);
    if (!d.ok)
      throw new MeshError("no_route", `no route for ${x.facts.method} ${x.facts.host}${x.facts.path}`, {
        edge: snapshot.edge,
        reason: d.reason,
      });
    if (x.record.on) x.record.add(describeRoute(table, x.facts, d.routing));
    applyTimeout(x, d.routing, snapshot);
    return next(carry(x, "route", d.routing));
  };
