import { MeshError } from "../../../shared/errors.ts";
import {
  describeAbort,
  describeDelay,
  faultMatcher,
  fires,
  rpcFaultMatcher,
} from "../../../shared/resilience/fault.ts";
import type { Snapshot } from "../../../shared/snapshot/schema.ts";
import { type Exchange, skip, type Stage } from "../exchange.ts";

/**
 * Istio-style fault injection from the service's TrafficPolicy (shared/resilience/fault.ts): a
 * fixed delay and/or an abort, each for a percentage of the requests that match (a fetch by its
 * headers, a Workers RPC call by its method). An abort answers in place of the backend; a delay
 * then lets the request carry on, unless it used up the request's deadline (504, `timed_out`).
 */
export const fault = <T extends Exchange, R>(snapshot: Snapshot): Stage<T, T, R> => {
  const f = snapshot.policy?.faultInjection;
  if (!snapshot.policy || !f) return skip();
  const policy = snapshot.policy.name;
  const fetchApplies = faultMatcher(f);
  const callApplies = rpcFaultMatcher(f);
  const applies = (x: Exchange) => (x.kind === "rpc" ? callApplies(x.call) : fetchApplies(x.headers));
  return async (x, next) => {
    if (!applies(x)) return next(x);
    if (f.delay && fires(f.delay.percentage, Math.random())) {
      const wait =
        x.deadlineAt === undefined
          ? f.delay.fixedDelay
          : Math.min(f.delay.fixedDelay, Math.max(0, x.deadlineAt - Date.now()));
      x.flags.add("fault_delay");
      if (x.record.on) x.record.add(describeDelay(f.delay, policy));
      await new Promise((r) => setTimeout(r, wait));
      if (x.deadlineAt !== undefined && Date.now() >= x.deadlineAt) {
        x.flags.add("timed_out");
        throw new MeshError("upstream_timeout", "request deadline exceeded during an injected delay", {
          policy,
          fault: "delay",
        });
      }
    }
    if (f.abort && fires(f.abort.percentage, Math.random())) {
      x.flags.add("fault_abort");
      if (x.record.on) x.record.add(describeAbort(f.abort, policy));
      throw new MeshError("fault_abort", `fault injected by TrafficPolicy/${policy}`, { policy }, f.abort.httpStatus);
    }
    return next(x);
  };
};
