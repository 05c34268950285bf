import { MeshError } from "../../../shared/errors.ts";
import { routeLabel, whyBeat } from "../../../shared/routing/explain-precedence.ts";
import type { RouteTable } from "../../../shared/routing/match.ts";
import type { Snapshot } from "../../../shared/snapshot/schema.ts";
import type { Exchange, Stage } from "../exchange.ts";
import { requestTimeoutOf } from "../../../shared/routing/request-timeout.ts";

/**
 * Matches the request against the edge's routes (Gateway API precedence, precomputed at compile
 * time). A service edge without any route sends traffic to its default backends (equal split).
 * On the egress edge the routes are the ExternalServices' hosts: no match means the host is not
 * allowed, which the egress stage (next) answers.
 */
export const route =
  (snapshot: Snapshot, table: RouteTable): Stage =>
  async (x, next) => {
    const matched = table.match(x.facts);
    if (matched) {
      x.route = matched;
      if (x.record.on) {
        const others = table.candidates(x.facts).filter((c) => c !== matched);
        x.record.note("route", `matched ${routeLabel(matched)}`, {
          route: matched.route,
          rule: matched.rule,
          match: matched.match,
          beat: others.slice(0, 5).map((o) => whyBeat(matched, o)),
        });
      }
      applyTimeout(x, matched, snapshot);
      return next();
    }
    if (snapshot.role === "service" && table.size === 0) {
      if (x.record.on)
        x.record.note("route", "no HTTPRoute attached: default backends", {
          source: snapshot.defaultSource ?? "equal split across versions",
        });
      applyTimeout(x, undefined, snapshot);
      return next();
    }
    if (snapshot.role === "egress") return next(); // the egress stage denies it, saying why
    const host = table.hostFor(x.facts.host);
    throw new MeshError("no_route", `no route for ${x.facts.method} ${x.facts.host}${x.facts.path}`, {
      edge: snapshot.edge,
      reason: host ? "no rule of the routes for this host matched" : `no route accepts host ${x.facts.host}`,
    });
  };

/** The request's deadline: the route's timeout or the mesh default, never later than the caller's. */
function applyTimeout(x: Exchange, route: Parameters<typeof requestTimeoutOf>[0], snapshot: Snapshot) {
  const timeout = requestTimeoutOf(
    route,
    snapshot,
    x.deadlineAt === undefined ? undefined : x.deadlineAt - x.startedAt,
  );
  if (!timeout) return;
  x.deadlineAt = x.startedAt + timeout.ms;
  if (x.record.on)
    x.record.note("timeout", `request timeout ${timeout.ms} ms (${timeout.source})`, {
      requestMs: timeout.ms,
      source: timeout.source,
    });
}
