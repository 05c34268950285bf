import type { MetricSeries } from "../control-api.ts";
import { emptyBuckets, quantile } from "../histogram.ts";

export type Golden = { requests: number; rps: number; successRate: number | null; p50: number | null; p95: number | null; p99: number | null; retries: number };

/** Merges series into golden signals over `windowSec`: rate, share of non-5xx, latency quantiles. */
export function golden(series: Pick<MetricSeries, "count" | "code" | "buckets" | "retries">[], windowSec: number): Golden {
  const buckets = emptyBuckets();
  let requests = 0;
  let ok = 0;
  let retries = 0;
  for (const s of series) {
    requests += s.count;
    if (s.code < 500) ok += s.count;
    retries += s.retries;
    s.buckets.forEach((n, i) => (buckets[i] += n));
  }
  const q = (p: number) => (requests ? round(quantile(buckets, p)!) : null);
  return { requests, rps: round(requests / windowSec), successRate: requests ? round(ok / requests) : null, p50: q(0.5), p95: q(0.95), p99: q(0.99), retries };
}

const round = (n: number) => Math.round(n * 1000) / 1000;

/** Groups series by a key and computes golden signals per group. */
export function goldenBy<T extends MetricSeries>(series: T[], key: (s: T) => string, windowSec: number): Map<string, Golden> {
  const groups = new Map<string, T[]>();
  for (const s of series) groups.set(key(s), [...(groups.get(key(s)) ?? []), s]);
  return new Map([...groups].map(([k, v]) => [k, golden(v, windowSec)]));
}

/**
 * Which series describe a service's own traffic: those its edge reported (one request counted
 * once, by the edge that chose the version), not the gateway's view of the same requests.
 */
export const reportedByServiceEdge = (s: MetricSeries) => s.reporter === `${s.destination}-edge`;
