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
  const at = x.startedAt + timeout.ms;
  if (at !== x.deadlineAt) x.deadlineFromCaller = false; // this hop's own timeout is shorter than the caller's
  x.deadlineAt = at;
  if (x.record.on) x.record.add(describeTimeout(timeout));
}
