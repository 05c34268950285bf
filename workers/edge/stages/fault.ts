import { MeshError } from "../../../shared/errors.ts";
import type { Snapshot } from "../../../shared/snapshot/schema.ts";
import type { Stage } from "../exchange.ts";
import { faultHeadersMatcher } from "../../../shared/routing/fault-headers.ts";

/**
 * Istio-style fault injection from the service's TrafficPolicy: a fixed delay and/or an abort,
 * each for a percentage of the requests that match its headers. An abort answers in place of
 * the backend; a delay then lets the request carry on.
 */
export const fault = (snapshot: Snapshot): Stage => {
  const f = snapshot.policy?.faultInjection;
  if (!f) return (_x, next) => next();
  const policy = snapshot.policy!.name;
  const applies = faultHeadersMatcher(f.headers);
  return async (x, next) => {
    if (!applies(x.upstreamHeaders)) return next();
    if (f.delay && Math.random() * 100 < f.delay.percentage) {
      const wait =
        x.deadlineAt === undefined ? f.delay.ms : Math.min(f.delay.ms, Math.max(0, x.deadlineAt - Date.now()));
      x.flags.add("fault_delay");
      if (x.record.on)
        x.record.note("fault", `delayed ${f.delay.ms} ms (${f.delay.percentage}% of matching requests)`, { policy });
      await new Promise((r) => setTimeout(r, wait));
      if (x.deadlineAt !== undefined && Date.now() >= x.deadlineAt)
        throw new MeshError("upstream_timeout", "request deadline exceeded during an injected delay", {
          policy,
          fault: "delay",
        });
    }
    if (f.abort && Math.random() * 100 < f.abort.percentage) {
      x.flags.add("fault_abort");
      if (x.record.on)
        x.record.note("fault", `aborted with ${f.abort.status} (${f.abort.percentage}% of matching requests)`, {
          policy,
        });
      throw new MeshError("fault_abort", `fault injected by TrafficPolicy/${policy}`, { policy }, f.abort.status);
    }
    return next();
  };
};
