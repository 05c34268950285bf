import type { MetricSeries } from "../control-api.ts";
import { golden } from "./aggregate.ts";

/** One step of a service's history: its rate, success and p99 over that step (nulls with no traffic). */
export type TimelinePoint = {
  at: string;
  requests: number;
  rps: number;
  successRate: number | null;
  p99: number | null;
};

/**
 * Golden signals per step of `stepMs` from `sinceMs` to `nowMs`, for each key (e.g. a service): a
 * point for every step, traffic or not, so sparklines share one time axis. The step still running
 * is divided by the time it has run, not by the whole step.
 */
export function timeline<T extends MetricSeries & { window: number }>(
  series: T[],
  key: (s: T) => string,
  keys: string[],
  sinceMs: number,
  nowMs: number,
  stepMs: number,
): Map<string, TimelinePoint[]> {
  const first = Math.floor(sinceMs / stepMs) * stepMs;
  const steps: number[] = [];
  for (let t = first; t <= nowMs; t += stepMs) steps.push(t);
  const buckets = new Map<string, T[]>();
  for (const s of series) {
    const id = `${key(s)}\u0000${Math.floor(s.window / stepMs) * stepMs}`;
    buckets.set(id, [...(buckets.get(id) ?? []), s]);
  }
  return new Map(
    keys.map((k) => [
      k,
      steps.map((t) => {
        const seconds = Math.max(1, Math.min(stepMs, nowMs - t)) / 1000;
        const g = golden(buckets.get(`${k}\u0000${t}`) ?? [], seconds);
        return {
          at: new Date(t).toISOString(),
          requests: g.requests,
          rps: g.rps,
          successRate: g.successRate,
          p99: g.p99,
        };
      }),
    ]),
  );
}
