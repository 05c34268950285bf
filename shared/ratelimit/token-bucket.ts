/** A token bucket: `capacity` tokens, refilled continuously at capacity per `periodMs`. */
export class TokenBucket {
  private tokens: number;
  private updatedAt: number;

  constructor(
    private readonly capacity: number,
    private readonly periodMs: number,
    now: number,
  ) {
    this.tokens = capacity;
    this.updatedAt = now;
  }

  /** Takes one token if there is one; otherwise says how long until there will be. */
  take(now: number): { ok: true } | { ok: false; retryAfterMs: number } {
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.updatedAt) * this.capacity) / this.periodMs);
    this.updatedAt = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return { ok: true };
    }
    return { ok: false, retryAfterMs: Math.ceil(((1 - this.tokens) * this.periodMs) / this.capacity) };
  }
}
