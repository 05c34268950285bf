/**
 * How often telemetry moves, so that no Durable Object is asked for more than it serves (about
 * 1 000 calls a second; docs/observability.md#at-internet-scale). Two rules:
 * - a collector asks its isolates to flush less often once more than COLLECTOR_TARGET_PER_S of
 *   them report to it (each batch holds more, the calls stay near the target);
 * - an object every collector reports to (the ConfigStore's status, the recent traces) sets the
 *   pace of each: at most SINGLETON_TARGET_PER_S calls a second from all of them together.
 */
export const FLUSH_INTERVAL_MS = 1000;
/** Longest interval an isolate is asked for: its flush timer must stay well inside waitUntil's 30 s. */
export const MAX_FLUSH_INTERVAL_MS = 10_000;
export const COLLECTOR_TARGET_PER_S = 500;
export const SINGLETON_TARGET_PER_S = 250;

/** The flush interval a collector answers `isolates` with: one flush each a second while they are at most 500. */
export function flushIntervalFor(isolates: number): number {
  const factor = Math.ceil(isolates / COLLECTOR_TARGET_PER_S);
  return Math.min(MAX_FLUSH_INTERVAL_MS, Math.max(1, factor) * FLUSH_INTERVAL_MS);
}

/**
 * The isolates a collector heard from lately (the last 10 s, the longest interval it asks for):
 * how many flushes a second it would get if each flushed every second. Measured in isolates, not
 * in calls, so the answer does not swing back as soon as the isolates slow down. At most
 * `maxIsolates` are kept (least recently heard from dropped first).
 */
export class Reporters {
  private readonly seen = new Map<string, number>();

  constructor(private readonly maxIsolates = 100_000) {}

  heard(isolate: string, now: number): void {
    this.seen.delete(isolate);
    this.seen.set(isolate, now);
    this.forget(now);
  }

  /** The flush interval to ask of them (ms). */
  intervalMs(now: number): number {
    this.forget(now);
    return flushIntervalFor(this.seen.size);
  }

  private forget(now: number): void {
    for (const [isolate, at] of this.seen) {
      if (at >= now - MAX_FLUSH_INTERVAL_MS && this.seen.size <= this.maxIsolates) break;
      this.seen.delete(isolate);
    }
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
