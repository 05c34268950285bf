import type { EdgeEnv } from "./env.ts";
import type { GlobalLimiter } from "./stages/rate-limit.ts";

/** Global rate limits count in the control plane's RateLimiter Durable Object (one object per key). */
export function globalLimiter(env: EdgeEnv): GlobalLimiter | undefined {
  const ns = env.RATE_LIMITER;
  if (!ns) return undefined;
  return (key, limit, periodMs) => ns.getByName(key).hit(limit, periodMs);
}
