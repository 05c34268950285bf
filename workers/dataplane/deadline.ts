import type { Routing } from "../../shared/routing/match.ts";
import { describeTimeout, requestTimeoutOf } from "../../shared/routing/request-timeout.ts";
import type { Snapshot } from "../../shared/snapshot/schema.ts";
import type { Exchange } from "./exchange.ts";

/** Sets the request's deadline once it is routed: the route's timeout or the mesh default, never later than the caller's. */
export function applyTimeout(x: Exchange, routing: Routing, snapshot: Snapshot): void {
  const timeout = requestTimeoutOf(
    routing.entry,
    snapshot.meshConfig,
    x.deadlineAt === undefined ? undefined : x.deadlineAt - x.startedAt,
  );
  if (!timeout) return;
  x.deadlineAt = x.startedAt + timeout.ms;
  if (x.record.on) x.record.add(describeTimeout(timeout));
}
