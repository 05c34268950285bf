export type Verdict = { ok: boolean; retryAfterMs: number };

type Window = { start: number; end: number; count: number };

/**
 * Exact fixed-window counters for many keys, bounded in memory: at most `maxKeys` windows, kept in
 * least-recently-used order. A key's window is dropped when the next one starts; windows that
 * ended are swept a few at a time as keys are counted, and when the table is full the least
 * recently used window is evicted (its key starts a fresh window if it returns).
 *
 * Fixed windows (as Envoy's reference rate-limit service counts): at most `limit` per aligned
 * window of `periodMs`, so a burst straddling a window edge can pass up to 2 × limit within any
 * `periodMs`. A shorter `per` with a proportionally lower `requests` narrows that burst.
 */
export class WindowCounters {
  private readonly windows = new Map<string, Window>();
  evicted = 0;

  constructor(readonly maxKeys = 10_000) {}

  hit(key: string, limit: number, periodMs: number, now: number): Verdict {
    const start = Math.floor(now / periodMs) * periodMs;
    let w = this.windows.get(key);
    if (w) this.windows.delete(key); // re-inserted below: the Map's order is least recently used first
    if (!w || w.start !== start) w = { start, end: start + periodMs, count: 0 };
    this.sweep(now);
    this.windows.set(key, w);
    if (w.count >= limit) return { ok: false, retryAfterMs: w.end - now };
    w.count++;
    return { ok: true, retryAfterMs: 0 };
  }

  get size(): number {
    return this.windows.size;
  }

  /** Drops up to two ended windows from the least recently used end, and makes room for one more key. */
  private sweep(now: number): void {
    for (let i = 0; i < 2; i++) {
      const oldest = this.windows.entries().next().value;
      if (!oldest || oldest[1].end > now) break;
      this.windows.delete(oldest[0]);
    }
    while (this.windows.size >= this.maxKeys) {
      this.windows.delete(this.windows.keys().next().value!);
      this.evicted++;
    }
  }
}
