import type { MetricSeries } from "../control-api.ts";
import { emptyBuckets, quantile } from "../histogram.ts";
import { CANCELLED_STATUS, succeeded } from "./outcome.ts";

/** `cancelled`: requests whose caller gave up first (code 0), counted in `requests`, never in success. */
export type Golden = {
  requests: number;
  rps: number;
  successRate: number | null;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  retries: number;
  cancelled: number;
};

/**
 * Merges series into golden signals over `windowSec`: rate, share answered without a 5xx (see
 * `succeeded`), latency quantiles (a cancelled request's latency is the time until its caller gave up).
 */
export function golden(
  series: Pick<MetricSeries, "count" | "code" | "buckets" | "retries">[],
  windowSec: number,
): Golden {
  const buckets = emptyBuckets();
  let requests = 0;
  let ok = 0;
  let retries = 0;
  let cancelled = 0;
  for (const s of series) {
    requests += s.count;
    if (succeeded(s.code)) ok += s.count;
    if (s.code === CANCELLED_STATUS) cancelled += s.count;
    retries += s.retries;
    s.buckets.forEach((n, i) => (buckets[i] += n));
  }
  const q = (p: number) => (requests ? round(quantile(buckets, p)!) : null);
  return {
    requests,
    rps: round(requests / windowSec),
    successRate: requests ? round(ok / requests) : null,
    p50: q(0.5),
    p95: q(0.95),
    p99: q(0.99),
    retries,
    cancelled,
  };
}

const round = (n: number) => Math.round(n * 1000) / 1000;

/** Groups series by a key and computes golden signals per group. */
export function goldenBy<T extends MetricSeries>(
  series: T[],
  key: (s: T) => string,
  windowSec: number,
): Map<string, Golden> {
  const groups = new Map<string, T[]>();
  for (const s of series) groups.set(key(s), [...(groups.get(key(s)) ?? []), s]);
  return new Map([...groups].map(([k, v]) => [k, golden(v, windowSec)]));
}

/**
 * Which series describe a service's own traffic: those its edge reported (one request counted
 * once, by the edge that chose the version), not the gateway's view of the same requests, nor the
 * copies a RequestMirror sent (shown apart, as `mirrored`: nobody waits for their answers).
 */
export const reportedByServiceEdge = (s: MetricSeries) => s.reporter === `${s.destination}-edge` && !s.mirror;
