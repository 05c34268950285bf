import { MeshError } from "../../../shared/errors.ts";
import { describeLimit, limitScope, retryAfterSeconds } from "../../../shared/ratelimit/rate-limit.ts";
import type { Snapshot } from "../../../shared/snapshot/schema.ts";
import { type Authenticated, type PassStage, SKIP } from "../exchange.ts";
import type { ResilienceState } from "../resilience/state.ts";

/** Counts a request against a global limit (a Durable Object shared by every isolate). */
export type GlobalLimiter = (
  key: string,
  limit: number,
  periodMs: number,
) => Promise<{ ok: boolean; retryAfterMs: number }>;

/**
 * The service's rate limits (shared/ratelimit/rate-limit.ts): a token bucket per key in this
 * isolate (`local`), or a fixed-window counter in one of the RateLimiter shards for the whole mesh
 * (`global`). Over the limit: 429 with Retry-After. Reads `upstreamHeaders`, `facts.host`,
 * `caller` and the identity's claims (what a key may name).
 */
export const rateLimit = (
  snapshot: Snapshot,
  state: ResilienceState,
  global?: GlobalLimiter,
): PassStage<Authenticated> => {
  const limits = snapshot.policy?.rateLimits ?? [];
  if (!snapshot.policy || limits.length === 0) return SKIP;
  const policy = snapshot.policy.name;
  return async (x, next) => {
    const keyFacts = { headers: x.upstreamHeaders, host: x.facts.host, caller: x.caller, claims: x.identity?.claims };
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
        throw new MeshError(
          "rate_limited",
          `rate limit ${l.requests} per ${l.per} ms exceeded`,
          { policy, rule: i },
          429,
          { "retry-after": retryAfterSeconds(verdict.retryAfterMs) },
        );
      }
    }
    return next(x);
  };
};
