import { regexMatcher } from "../regex/linear-matcher.ts";
import type { RegexPrograms } from "../regex/program.ts";
import type { RpcMatch } from "../resources/route-match.ts";
import { valueMatches } from "../security/authorize.ts";
import { DEFAULT_ENTRYPOINT } from "./method.ts";

// Routing and policy matches on a Workers RPC call, prepared once per snapshot.

/** What a match reads of an RPC call: the entrypoint (`default` for the default export) and the method. */
export type RpcTarget = { entrypoint: string; method: string; fullName: string };

/** A route's `rpc` match as a test (a regex runs its snapshot's program: a full match, as Gateway API's RegularExpression). */
export function prepareRpcMatch(m: RpcMatch, regexes?: RegexPrograms): (call: RpcTarget) => boolean {
  if (m.type === "Exact")
    return (c) =>
      (m.entrypoint === undefined || m.entrypoint === c.entrypoint) &&
      (m.method === undefined || m.method === c.method);
  const entrypoint = m.entrypoint === undefined ? undefined : regexMatcher(regexes, m.entrypoint);
  const method = m.method === undefined ? undefined : regexMatcher(regexes, m.method);
  return (c) => (!entrypoint || entrypoint(c.entrypoint)) && (!method || method(c.method));
}

/**
 * GRPCRoute's precedence among rpc matches, as numbers to sort by (smaller first): Exact before
 * RegularExpression, then the most characters of entrypoint, then of method.
 */
export const rpcMatchRank = (m: RpcMatch): [number, number, number] => [
  m.type === "Exact" ? 0 : 1,
  -(m.entrypoint?.length ?? 0),
  -(m.method?.length ?? 0),
];

/** Whether a list of policy values (`getRating`, `Admin.*`, `get*`) names this call's method. */
export const namesMethod = (patterns: readonly string[] | undefined, call: Pick<RpcTarget, "fullName">) =>
  !!patterns?.some((p) => valueMatches(p, call.fullName));

/** An RPC call's target from its binding's entrypoint (props) and the method called. */
export const rpcTarget = (entrypoint: string | undefined, method: string): RpcTarget => {
  const e = entrypoint ?? DEFAULT_ENTRYPOINT;
  return { entrypoint: e, method, fullName: e === DEFAULT_ENTRYPOINT ? method : `${e}.${method}` };
};
