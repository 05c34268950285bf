import { edgeName } from "../../../shared/names.ts";
import type { CanaryMetrics } from "../../../shared/rollout/decide.ts";
import { golden } from "../../../shared/telemetry/aggregate.ts";
import { succeeded } from "../../../shared/telemetry/outcome.ts";
import type { ControlEnv } from "../env.ts";
import { telemetryOf } from "../objects.ts";
import { type SeriesRow, WINDOW_MS } from "../telemetry/metric-store.ts";

/** The canary's golden signals in the windows since `sinceMs`, as its service's own edge counted them. */
export function canaryMetricsOf(rows: SeriesRow[], service: string, canary: string, sinceMs: number): CanaryMetrics {
  const mine = rows.filter(
    (r) => r.reporter === edgeName(service) && r.version === canary && r.window + WINDOW_MS > sinceMs,
  );
  const g = golden(mine, 1);
  const failures = mine.filter((r) => !succeeded(r.code)).reduce((n, r) => n + r.count, 0);
  return { requests: g.requests, failures, successRate: g.successRate, p99: g.p99 };
}

/** The same, read from the service's Telemetry object. */
export async function canaryMetrics(
  env: ControlEnv,
  service: string,
  canary: string,
  sinceMs: number,
): Promise<CanaryMetrics> {
  return canaryMetricsOf(await telemetryOf(env, service).query(sinceMs), service, canary, sinceMs);
}
