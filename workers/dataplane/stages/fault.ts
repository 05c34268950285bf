import { MeshError } from "../../../shared/errors.ts";
import { describeAbort, describeDelay, faultMatcher, fires } from "../../../shared/resilience/fault.ts";
import type { Snapshot } from "../../../shared/snapshot/schema.ts";
import { type PassStage, SKIP } from "../exchange.ts";

/**
 * Istio-style fault injection from the service's TrafficPolicy (shared/resilience/fault.ts): a
 * fixed delay and/or an abort, each for a percentage of the requests that match its headers. An
 * abort answers in place of the backend; a delay then lets the request carry on. Reads
 * `upstreamHeaders` and the deadline.
 */
export const fault = (snapshot: Snapshot): PassStage => {
  const f = snapshot.policy?.faultInjection;
  if (!snapshot.policy || !f) return SKIP;
  const policy = snapshot.policy.name;
  const applies = faultMatcher(f);
  return async (x, next) => {
    if (!applies(x.upstreamHeaders)) return next(x);
    if (f.delay && fires(f.delay.percentage, Math.random())) {
      const wait =
        x.deadlineAt === undefined
          ? f.delay.fixedDelay
          : Math.min(f.delay.fixedDelay, Math.max(0, x.deadlineAt - Date.now()));
      x.flags.add("fault_delay");
      if (x.record.on) x.record.add(describeDelay(f.delay, policy));
      await new Promise((r) => setTimeout(r, wait));
      if (x.deadlineAt !== undefined && Date.now() >= x.deadlineAt)
        throw new MeshError("upstream_timeout", "request deadline exceeded during an injected delay", {
          policy,
          fault: "delay",
        });
    }
    if (f.abort && fires(f.abort.percentage, Math.random())) {
      x.flags.add("fault_abort");
      if (x.record.on) x.record.add(describeAbort(f.abort, policy));
      throw new MeshError("fault_abort", `fault injected by TrafficPolicy/${policy}`, { policy }, f.abort.httpStatus);
    }
    return next(x);
  };
};
