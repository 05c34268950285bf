import type { Rollout, RolloutStatus } from "../resources/rollout.ts";

/** The canary's signals since its step began: requests, those that failed (5xx or no answer), the share that succeeded (0..1), p99 in ms. */
export type CanaryMetrics = { requests: number; failures: number; successRate: number | null; p99: number | null };

/** `status.step` counts from 1 (step 1 runs `steps[0]`), as `isomesh rollout status` shows it. */
export const initialStatus = (spec: Rollout["spec"], now: number): RolloutStatus => ({
  phase: "Progressing",
  step: 1,
  weight: spec.steps[0],
  message: `shifting ${spec.steps[0]}% to ${spec.canary}`,
  stepStartedAt: now,
  lastTransition: new Date(now).toISOString(),
});

/** When a progressing step's next analysis is due: one interval after it began, one more per inconclusive analysis. */
export const analysisDueAt = (spec: Rollout["spec"], status: RolloutStatus) =>
  status.stepStartedAt + ((status.inconclusive ?? 0) + 1) * spec.interval;

/**
 * Whether the failures seen already put the canary below `successRate` however the step goes on:
 * judged over at least `minRequests`, counting the requests not seen yet as successes. At or above
 * `minRequests` this is the plain check; below, a canary failing half its requests is caught at its
 * first analysis instead of after enough traffic to judge a healthy one.
 */
function failsSuccessRate(a: Rollout["spec"]["analysis"], m: CanaryMetrics): boolean {
  const n = Math.max(m.requests, a.minRequests);
  return n > 0 && ((n - m.failures) * 100) / n < a.successRate - 1e-9;
}

/** The failures `successRate` tolerates among `minRequests` requests. */
const allowedFailures = (a: Rollout["spec"]["analysis"]) =>
  Math.floor((a.minRequests * (100 - a.successRate)) / 100 + 1e-9);

const pct = (v: number) => `${(Math.round(v * 10) / 10).toFixed(1)}%`;

/**
 * One analysis of a running rollout, at the end of an interval (shared with Flagger and Argo
 * Rollouts, see docs/operator.md): the sample is every canary request since the step began.
 * - failures beyond what `successRate` allows of max(requests, minRequests): rolled back at once;
 * - at least `minRequests`: p99 above `latencyP99` rolls back; otherwise the next step, or promotion
 *   after the last;
 * - fewer (inconclusive): the step waits one more interval, keeping its sample, at most
 *   `inconclusiveLimit` times; then it is rolled back (a canary is never promoted on no evidence).
 */
export function nextRolloutState(
  spec: Rollout["spec"],
  status: RolloutStatus,
  metrics: CanaryMetrics,
  now: number,
): RolloutStatus | undefined {
  if (status.phase !== "Progressing" || now < analysisDueAt(spec, status)) return undefined;
  const at = new Date(now).toISOString();
  const a = spec.analysis;
  // The status speaks the spec's units: a success rate in percent, like analysis.successRate.
  const lastAnalysis = {
    ...metrics,
    successRate: metrics.successRate === null ? null : Math.round(metrics.successRate * 100_000) / 1000,
  };
  const { inconclusive = 0, ...settled } = status; // what a rollback or a new step keeps
  const rolledBack = (message: string): RolloutStatus => ({
    ...settled,
    phase: "RolledBack",
    weight: 0,
    stepStartedAt: now,
    lastTransition: at,
    lastAnalysis,
    message: `rolled back: ${message}`,
  });
  const { requests, failures } = metrics;
  if (failsSuccessRate(a, metrics)) {
    const rate = pct(((requests - failures) * 100) / Math.max(requests, 1));
    return rolledBack(
      requests >= a.minRequests
        ? `success rate ${rate} < ${a.successRate}%`
        : `success rate ${rate} < ${a.successRate}%: ${failures} of ${requests} canary requests failed, and ${a.successRate}% of minRequests ${a.minRequests} allows ${allowedFailures(a)}`,
    );
  }
  if (requests < a.minRequests) {
    if (inconclusive >= a.inconclusiveLimit)
      return rolledBack(
        `${requests} of ${a.minRequests} canary requests after ${inconclusive + 1} intervals (inconclusiveLimit ${a.inconclusiveLimit})`,
      );
    return {
      ...status,
      inconclusive: inconclusive + 1,
      lastAnalysis,
      message: `waiting: ${requests} of ${a.minRequests} canary requests since step ${status.step} began (inconclusive ${inconclusive + 1} of ${a.inconclusiveLimit})`,
    };
  }
  if (a.latencyP99 !== undefined && metrics.p99 !== null && metrics.p99 > a.latencyP99)
    return rolledBack(`p99 ${metrics.p99.toFixed(1)}ms > ${a.latencyP99}ms`);
  const next = (s: Partial<RolloutStatus>): RolloutStatus => ({
    ...settled,
    ...s,
    stepStartedAt: now,
    lastTransition: at,
    lastAnalysis,
  });
  if (status.step >= spec.steps.length)
    return next({ phase: "Promoted", weight: 100, message: `promoted ${spec.canary}` });
  const step = status.step + 1;
  const weight = spec.steps[step - 1];
  return next({ step, weight, message: `step ${step}/${spec.steps.length}: ${weight}% to ${spec.canary}` });
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
