/**
 * How often telemetry moves, so that no Durable Object is asked for more than it serves (about
 * 1 000 calls a second; docs/observability.md#at-internet-scale). Two rules:
 * - a collector asks its isolates to flush less often once more than COLLECTOR_TARGET_PER_S of
 *   them flush a second (their batches grow, their number of calls does not);
 * - an object every collector reports to (the ConfigStore's status, the recent traces) sets the
 *   pace of each: at most SINGLETON_TARGET_PER_S calls a second from all of them together.
 */
export const FLUSH_INTERVAL_MS = 1000;
/** Longest interval an isolate is asked for: its flush timer must stay well inside waitUntil's 30 s. */
export const MAX_FLUSH_INTERVAL_MS = 10_000;
export const COLLECTOR_TARGET_PER_S = 500;
export const SINGLETON_TARGET_PER_S = 250;

/** The flush interval a collector answers its isolates with, from the flushes it received in the last second. */
export function flushIntervalFor(flushesPerS: number): number {
  const factor = Math.ceil(flushesPerS / COLLECTOR_TARGET_PER_S);
  return Math.min(MAX_FLUSH_INTERVAL_MS, Math.max(1, factor) * FLUSH_INTERVAL_MS);
}

/** Calls in the last whole second (or in the current one, if more): what an object is asked for now. */
export class RateMeter {
  private second = 0;
  private current = 0;
  private previous = 0;

  hit(now: number): void {
    this.roll(now);
    this.current++;
  }

  perSecond(now: number): number {
    this.roll(now);
    return Math.max(this.previous, this.current);
  }

  private roll(now: number): void {
    const s = Math.floor(now / 1000);
    if (s === this.second) return;
    this.previous = s === this.second + 1 ? this.current : 0;
    this.current = 0;
    this.second = s;
  }
}

/**
 * The pace an object every collector reports to gives each one: with N collectors heard from in
 * the window, one call every N / target seconds each (at least a second, at most a third of the
 * window, so a collector still reports within every window). Senders are kept in least recently
 * seen order, at most `maxSenders` (a count past that only makes the pace slower than needed).
 */
export class Pacer {
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly windowMs: number,
    private readonly targetPerS = SINGLETON_TARGET_PER_S,
    private readonly maxSenders = 100_000,
  ) {}

  /** Records a call from `sender` and answers how long it should wait before the next one (ms). */
  heard(sender: string, now: number): number {
    this.seen.delete(sender);
    this.seen.set(sender, now);
    for (const [name, at] of this.seen) {
      if (at >= now - this.windowMs && this.seen.size <= this.maxSenders) break;
      this.seen.delete(name);
    }
    const paceMs = (this.seen.size / this.targetPerS) * 1000;
    return Math.round(Math.min(this.windowMs / 3, Math.max(FLUSH_INTERVAL_MS, paceMs)));
  }

  get senders(): number {
    return this.seen.size;
  }
}
