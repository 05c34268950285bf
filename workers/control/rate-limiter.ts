import { DurableObject } from "cloudflare:workers";
import { WindowCounters } from "../../shared/ratelimit/window-counters.ts";
import type { ControlEnv } from "./env.ts";

/**
 * One shard of the global rate-limit counters (`RATE_LIMITER.getByName(shardOf(key))`, a fixed
 * set: shared/ratelimit/shards.ts): exact fixed-window counters for every key hashed onto it,
 * shared by every edge isolate everywhere. Kept in memory and bounded (WindowCounters): a limiter
 * that restarts forgets one window.
 */
export class RateLimiter extends DurableObject<ControlEnv> {
  private readonly counters = new WindowCounters();

  take(key: string, limit: number, periodMs: number): { ok: boolean; retryAfterMs: number } {
    return this.counters.hit(key, limit, periodMs, Date.now());
  }
}
