import { BoundedMap } from "../../../shared/bounded-map.ts";
import { TokenBucket } from "../../../shared/ratelimit/token-bucket.ts";
import { type CompiledOutlierDetection, OutlierDetector } from "../../../shared/resilience/outlier-detection.ts";
import { type CompiledRetryBudget, RetryBudget } from "../../../shared/resilience/retry-budget.ts";

/** How many of each an isolate keeps (docs/observability.md#memory). */
export const RESILIENCE_LIMITS = { budgets: 1024, detectors: 1024, buckets: 50_000 };

/**
 * Per-isolate resilience state that must survive snapshot changes (a config push must not reset
 * a breaker or refill a bucket). Each piece is keyed by what it protects and by its config, so
 * a changed policy starts fresh state and an unchanged one keeps it. Each kind is bounded, the
 * least recently used dropped first (RESILIENCE_LIMITS): config changes leave old keys behind, and
 * local rate limits are keyed by request data.
 */
export class ResilienceState {
  private readonly budgets: BoundedMap<string, RetryBudget>;
  private readonly detectors: BoundedMap<string, OutlierDetector>;
  private readonly buckets: BoundedMap<string, TokenBucket>;
  private readonly inflight = new Map<string, number>();

  constructor(limits = RESILIENCE_LIMITS) {
    this.budgets = new BoundedMap(limits.budgets);
    this.detectors = new BoundedMap(limits.detectors);
    this.buckets = new BoundedMap(limits.buckets);
  }

  budget(backend: string, config: CompiledRetryBudget): RetryBudget {
    const key = `${backend}|${config.percent}|${config.minRetriesPerSecond}`;
    return this.budgets.use(key, () => new RetryBudget(config));
  }

  outliers(scope: string, config: CompiledOutlierDetection): OutlierDetector {
    return this.detectors.use(`${scope}|${JSON.stringify(config)}`, () => new OutlierDetector(config));
  }

  /** A bucket per limit and key (a key past the bound starts full again when it returns). */
  bucket(key: string, capacity: number, periodMs: number, now: number): TokenBucket {
    return this.buckets.use(key, () => new TokenBucket(capacity, periodMs, now));
  }

  acquire(backend: string, limit: number): boolean {
    const n = this.inflight.get(backend) ?? 0;
    if (n >= limit) return false;
    this.inflight.set(backend, n + 1);
    return true;
  }

  release(backend: string): void {
    this.inflight.set(backend, Math.max(0, (this.inflight.get(backend) ?? 1) - 1));
  }
}
