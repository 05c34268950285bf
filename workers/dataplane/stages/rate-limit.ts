import { MeshError } from "../../../shared/errors.ts";
import { describeLimit, limitScope, retryAfterSeconds } from "../../../shared/ratelimit/rate-limit.ts";
import type { KeyFacts } from "../../../shared/routing/request-key.ts";
import type { Snapshot } from "../../../shared/snapshot/schema.ts";
import { type Authenticated, skip, type Stage } from "../exchange.ts";
import type { ResilienceState } from "../resilience/state.ts";

/** Counts a request against a global limit (a Durable Object shared by every isolate). */
export type GlobalLimiter = (
  key: string,
  limit: number,
  periodMs: number,
) => Promise<{ ok: boolean; retryAfterMs: number }>;

const NO_HEADERS = new Headers();

/** What a rate-limit or sticky-session key may read of a request: a fetch's headers and host, a call's arguments. */
export const keyFactsOf = (x: Authenticated): KeyFacts =>
  x.kind === "rpc"
    ? { headers: NO_HEADERS, caller: x.caller, args: x.args }
    : { headers: x.headers, host: x.host, caller: x.caller, claims: x.identity?.claims };

/**
 * The service's rate limits (shared/ratelimit/rate-limit.ts): a token bucket per key in this
 * isolate (`local`), or a fixed-window counter in one of the RateLimiter shards for the whole mesh
 * (`global`). Over the limit: 429 with Retry-After. Reads what a key may name (headers, host,
 * caller, the identity's claims; a Workers RPC call's arguments).
 */
export const rateLimit = <T extends Authenticated, R>(
  snapshot: Snapshot,
  state: ResilienceState,
  global?: GlobalLimiter,
): Stage<T, T, R> => {
  const limits = snapshot.policy?.rateLimits ?? [];
  if (!snapshot.policy || limits.length === 0) return skip();
  const policy = snapshot.policy.name;
  return async (x, next) => {
    const keyFacts = keyFactsOf(x);
    for (const [i, l] of limits.entries()) {
      const { scope, key } = limitScope(snapshot.edge, policy, i, l, keyFacts);
      const verdict =
        l.mode === "global" && global
          ? await global(scope, l.requests, l.per).catch(() => ({ ok: true, retryAfterMs: 0 })) // fail open: the limiter is not on the critical path
          : state.bucket(scope, l.requests, l.per, Date.now()).take(Date.now());
      if (x.record.on)
        x.record.note("ratelimit", `${verdict.ok ? "within" : "over"} ${describeLimit(l)}`, { policy, rule: i, key });
      if (!verdict.ok) {
        x.flags.add("rate_limited");
        const retryAfter = retryAfterSeconds(verdict.retryAfterMs);
        throw new MeshError(
          "rate_limited",
          x.kind === "rpc"
            ? `rate limit ${l.requests} per ${l.per} ms exceeded (retry after ${retryAfter} s)`
            : `rate limit ${l.requests} per ${l.per} ms exceeded`,
          { policy, rule: i },
          429,
          { "retry-after": retryAfter },
        );
      }
    }
    return next(x);
  };
};
