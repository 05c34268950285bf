import type { CanaryMetrics } from "../../../shared/rollout/decide.ts";
import { golden } from "../../../shared/telemetry/aggregate.ts";
import type { ControlEnv } from "../env.ts";

/** The canary's golden signals since `sinceMs`, as its service's own edge counted them. */
export async function canaryMetrics(env: ControlEnv, service: string, canary: string, sinceMs: number): Promise<CanaryMetrics> {
  const rows = await env.TELEMETRY.getByName(`service:${service}`).query(sinceMs);
  const mine = rows.filter((r) => r.reporter === `${service}-edge` && r.version === canary && r.window + 10_000 > sinceMs);
  const g = golden(mine, 1);
  return { requests: g.requests, successRate: g.successRate, p99: g.p99 };
}
