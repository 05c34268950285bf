import { DurableObject } from "cloudflare:workers";
import type { ControlEnv } from "./env.ts";

/**
 * One global rate-limit key (`RATE_LIMITER.getByName(key)`): a fixed-window counter shared by
 * every edge isolate everywhere. Kept in memory: a limiter that restarts forgets one window.
 */
export class RateLimiter extends DurableObject<ControlEnv> {
  private windowStart = 0;
  private count = 0;

  hit(limit: number, periodMs: number): { ok: boolean; retryAfterMs: number } {
    const now = Date.now();
    const start = Math.floor(now / periodMs) * periodMs;
    if (start !== this.windowStart) {
      this.windowStart = start;
      this.count = 0;
    }
    if (this.count >= limit) return { ok: false, retryAfterMs: start + periodMs - now };
    this.count++;
    return { ok: true, retryAfterMs: 0 };
  }
}
