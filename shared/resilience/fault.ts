import * as z from "zod/mini";
import { regexMatcher } from "../regex/linear-matcher.ts";
import type { RegexPrograms } from "../regex/program.ts";
import { HeaderMatch } from "../resources/route-match.ts";
import { RpcMethodValues } from "../resources/rpc-methods.ts";
import { namesMethod, type RpcTarget } from "../rpc/match.ts";
import type { TrafficPolicySpec } from "../resources/traffic-policy.ts";

/** A TrafficPolicy's faultInjection as edges run it: the resource's own fields, the delay in ms. */
export const CompiledFault = z.object({
  match: z.optional(z.object({ headers: z.array(HeaderMatch), rpcMethods: z.optional(RpcMethodValues) })),
  delay: z.optional(z.object({ fixedDelay: z.number(), percentage: z.number() })),
  abort: z.optional(z.object({ httpStatus: z.number(), percentage: z.number() })),
});
export type CompiledFault = z.infer<typeof CompiledFault>;

export const compileFault = (f: z.output<typeof TrafficPolicySpec>["faultInjection"]): CompiledFault | undefined => f;

/** The flags an injected fault sets (Envoy's FI and DI). */
export const FAULT_FLAGS = { fault_abort: "an injected abort", fault_delay: "an injected delay" } as const;

/**
 * Which requests a fault applies to: every header match must hold (a missing header compares as
 * ""). Built once per snapshot, a regex running its snapshot's program (`regexes`); the edge's
 * fault stage and synthetic explain both ask it.
 */
export function faultMatcher(f: CompiledFault, regexes?: RegexPrograms): (headers: Headers) => boolean {
  const tests = (f.match?.headers ?? []).map((h) => {
    const name = h.name.toLowerCase();
    if (h.type === "RegularExpression") {
      const re = regexMatcher(regexes, h.value);
      return (hs: Headers) => re(hs.get(name) ?? "");
    }
    return (hs: Headers) => hs.get(name) === h.value;
  });
  // A match on RPC methods is for RPC calls only (docs/traffic.md#workers-rpc).
  if (f.match?.rpcMethods) return () => false;
  return (hs) => tests.every((t) => t(hs));
}

/**
 * Which Workers RPC calls a fault applies to: a match on `rpcMethods` names them; a fault without
 * a match applies to every call, one matching on headers to none (an RPC call carries no headers).
 */
export function rpcFaultMatcher(f: CompiledFault): (call: RpcTarget) => boolean {
  const methods = f.match?.rpcMethods;
  if (methods) return (call) => namesMethod(methods, call);
  const any = !f.match?.headers.length;
  return () => any;
}

/** Whether a fault with `percentage` fires for a request that drew `draw` in [0, 1). */
export const fires = (percentage: number, draw: number) => draw * 100 < percentage;

type Delay = NonNullable<CompiledFault["delay"]>;
type Abort = NonNullable<CompiledFault["abort"]>;

/** The decision records of a fault that fired, as the edge records them. */
export const describeDelay = (d: Delay, policy: string) => ({
  stage: "fault",
  decision: `delayed ${d.fixedDelay} ms (${d.percentage}% of matching requests)`,
  policy,
});
export const describeAbort = (a: Abort, policy: string) => ({
  stage: "fault",
  decision: `aborted with ${a.httpStatus} (${a.percentage}% of matching requests)`,
  policy,
});
