import type { Rollout, RolloutStatus } from "../resources/rollout.ts";

export type CanaryMetrics = { requests: number; successRate: number | null; p99: number | null };

/** `status.step` counts from 1 (step 1 runs `steps[0]`), as `isomesh rollout status` shows it. */
export const initialStatus = (spec: Rollout["spec"], now: number): RolloutStatus => ({
  phase: "Progressing",
  step: 1,
  weight: spec.steps[0],
  message: `shifting ${spec.steps[0]}% to ${spec.canary}`,
  stepStartedAt: now,
  lastTransition: new Date(now).toISOString(),
});

/**
 * One analysis of a running rollout: before the interval is up nothing changes; with too few
 * canary requests it waits another interval; a failed threshold rolls back to 0%; otherwise it
 * advances a step, and after the last step it promotes the canary to 100%.
 */
export function nextRolloutState(
  spec: Rollout["spec"],
  status: RolloutStatus,
  metrics: CanaryMetrics,
  now: number,
): RolloutStatus | undefined {
  if (status.phase !== "Progressing" || now < status.stepStartedAt + spec.interval) return undefined;
  const at = new Date(now).toISOString();
  const a = spec.analysis;
  // The status speaks the spec's units: a success rate in percent, like analysis.successRate.
  const m = {
    ...metrics,
    successRate: metrics.successRate === null ? null : Math.round(metrics.successRate * 100_000) / 1000,
  };
  if (m.requests < a.minRequests)
    return {
      ...status,
      stepStartedAt: now,
      lastAnalysis: m,
      message: `waiting: ${m.requests} of ${a.minRequests} canary requests in the last interval`,
    };
  const successPct = m.successRate ?? 100;
  if (successPct < a.successRate)
    return {
      ...status,
      phase: "RolledBack",
      weight: 0,
      stepStartedAt: now,
      lastTransition: at,
      lastAnalysis: m,
      message: `rolled back: success rate ${successPct.toFixed(1)}% < ${a.successRate}%`,
    };
  if (a.latencyP99 !== undefined && m.p99 !== null && m.p99 > a.latencyP99)
    return {
      ...status,
      phase: "RolledBack",
      weight: 0,
      stepStartedAt: now,
      lastTransition: at,
      lastAnalysis: m,
      message: `rolled back: p99 ${m.p99.toFixed(1)}ms > ${a.latencyP99}ms`,
    };
  if (status.step >= spec.steps.length)
    return {
      ...status,
      phase: "Promoted",
      weight: 100,
      stepStartedAt: now,
      lastTransition: at,
      lastAnalysis: m,
      message: `promoted ${spec.canary}`,
    };
  const step = status.step + 1;
  const weight = spec.steps[step - 1];
  return {
    ...status,
    step,
    weight,
    stepStartedAt: now,
    lastTransition: at,
    lastAnalysis: m,
    message: `step ${step}/${spec.steps.length}: ${weight}% to ${spec.canary}`,
  };
}

/** The canary's share (percent) a rollout gives it now: all after a promotion, none after a rollback. */
export const canaryWeight = (status: RolloutStatus) =>
  status.phase === "Promoted" ? 100 : status.phase === "RolledBack" ? 0 : status.weight;

/** The split a rollout imposes on its service: stable and canary share 100%, other versions get nothing. */
export function rolloutWeights(
  spec: Rollout["spec"],
  status: RolloutStatus,
  versions: string[],
): { version: string; weight: number }[] {
  const canary = canaryWeight(status);
  return versions.map((v) => ({
    version: v,
    weight: v === spec.canary ? canary : v === spec.stable ? 100 - canary : 0,
  }));
}
