/**
 * Fixed log-linear latency buckets (ms): upper bounds, shared by edges and the control plane so
 * histograms from any edge add up. The last bucket (+Inf) is implicit: index LATENCY_BUCKETS_MS.length.
 */
export const LATENCY_BUCKETS_MS = [
  0.5, 1, 2, 3, 4, 5, 6, 8, 10, 13, 16, 20, 25, 32, 40, 50, 64, 80, 100, 130, 160, 200, 250, 320, 400, 500, 640, 800,
  1000, 1300, 1600, 2000, 2500, 3200, 4000, 5000, 6400, 8000, 10000, 13000, 16000, 20000, 30000, 60000,
] as const;

export const emptyBuckets = () => new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0);

export function bucketIndex(ms: number): number {
  let lo = 0;
  let hi: number = LATENCY_BUCKETS_MS.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ms <= LATENCY_BUCKETS_MS[mid]) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** The q-quantile (0..1) of a bucketed histogram, interpolated linearly inside the bucket. */
export function quantile(buckets: readonly number[], q: number): number | undefined {
  const total = buckets.reduce((a, b) => a + b, 0);
  if (total === 0) return undefined;
  const rank = q * total;
  let seen = 0;
  for (let i = 0; i < buckets.length; i++) {
    if (buckets[i] === 0) continue;
    if (seen + buckets[i] >= rank) {
      const lower = i === 0 ? 0 : LATENCY_BUCKETS_MS[i - 1];
      const upper =
        i < LATENCY_BUCKETS_MS.length ? LATENCY_BUCKETS_MS[i] : LATENCY_BUCKETS_MS[LATENCY_BUCKETS_MS.length - 1];
      return lower + ((upper - lower) * (rank - seen)) / buckets[i];
    }
    seen += buckets[i];
  }
  return LATENCY_BUCKETS_MS[LATENCY_BUCKETS_MS.length - 1];
}
