import { MeshError } from "../../../shared/errors.ts";
import {
  decideRoute,
  decideRpcRoute,
  describeRoute,
  describeRpcRoute,
  type RouteTable,
} from "../../../shared/routing/match.ts";
import type { Snapshot } from "../../../shared/snapshot/schema.ts";
import { applyTimeout } from "../deadline.ts";
import { type Authenticated, carry, type Routed, type Stage } from "../exchange.ts";

/**
 * Routing (shared/routing/match.ts): the winning route entry by Gateway API precedence (a Workers RPC
 * call by its rpc matches, GRPCRoute's), or a service edge's default backends when it has no route.
 * Sets the request's deadline (the route's timeout, never later than the caller's) and hands on the `route`.
 */
export const route =
  <T extends Authenticated, R>(snapshot: Snapshot, table: RouteTable): Stage<T, Routed<T>, R> =>
  (x, next) => {
    if (x.kind === "rpc") {
      const d = decideRpcRoute(table, x.call, snapshot.role);
      if (!d.ok) throw new MeshError("no_route", d.reason);
      if (x.record.on) x.record.add(describeRpcRoute(table, x.call, d.routing));
      applyTimeout(x, d.routing, snapshot);
      return next(carry(x, "route", d.routing));
    }
    const d = decideRoute(table, x, snapshot.role);
    if (!d.ok)
      throw new MeshError("no_route", `no route for ${x.method} ${x.host}${x.path}`, {
        edge: snapshot.edge,
        reason: d.reason,
      });
    if (x.record.on) x.record.add(describeRoute(table, x, d.routing));
    applyTimeout(x, d.routing, snapshot);
    return next(carry(x, "route", d.routing));
  };
