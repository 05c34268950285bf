import { shardOf } from "../../shared/ratelimit/shards.ts";
import type { EdgeEnv } from "./env.ts";
import type { GlobalLimiter } from "./stages/rate-limit.ts";

/** Global rate limits count in the control plane's RateLimiter shards (a fixed number of objects). */
export function globalLimiter(env: EdgeEnv): GlobalLimiter | undefined {
  const ns = env.RATE_LIMITER;
  if (!ns) return undefined;
  return (key, limit, periodMs) => ns.getByName(shardOf(key)).take(key, limit, periodMs);
}
