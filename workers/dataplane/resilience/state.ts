import { TokenBucket } from "../../../shared/ratelimit/token-bucket.ts";
import { type CompiledOutlierDetection, OutlierDetector } from "../../../shared/resilience/outlier-detection.ts";
import { type CompiledRetryBudget, RetryBudget } from "../../../shared/resilience/retry-budget.ts";

/**
 * Per-isolate resilience state that must survive snapshot changes (a config push must not reset
 * a breaker or refill a bucket). Each piece is keyed by what it protects and by its config, so
 * a changed policy starts fresh state and an unchanged one keeps it.
 */
export class ResilienceState {
  private readonly budgets = new Map<string, RetryBudget>();
  private readonly detectors = new Map<string, OutlierDetector>();
  private readonly buckets = new Map<string, TokenBucket>();
  private readonly inflight = new Map<string, number>();

  budget(backend: string, config: CompiledRetryBudget): RetryBudget {
    const key = `${backend}|${config.percent}|${config.minRetriesPerSecond}`;
    let b = this.budgets.get(key);
    if (!b) this.budgets.set(key, (b = new RetryBudget(config)));
    return b;
  }

  outliers(scope: string, config: CompiledOutlierDetection): OutlierDetector {
    const key = `${scope}|${JSON.stringify(config)}`;
    let d = this.detectors.get(key);
    if (!d) this.detectors.set(key, (d = new OutlierDetector(config)));
    return d;
  }

  /** A bucket per limit and key; the map is bounded so unique keys cannot grow memory without end. */
  bucket(key: string, capacity: number, periodMs: number, now: number): TokenBucket {
    let b = this.buckets.get(key);
    if (!b) {
      if (this.buckets.size >= 50_000) this.buckets.delete(this.buckets.keys().next().value!);
      this.buckets.set(key, (b = new TokenBucket(capacity, periodMs, now)));
    }
    return b;
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
