import { describe, expect, it } from "vitest";
import { RolloutSpec } from "../../shared/resources/rollout.ts";
import { initialStatus, nextRolloutState, rolloutWeights } from "../../shared/rollout/decide.ts";

const spec = RolloutSpec.parse({
  targetRef: { name: "reviews" },
  stable: "v1",
  canary: "v3",
  steps: [10, 50, 100],
  interval: "30s",
  analysis: { minRequests: 20, successRate: 99, latencyP99: "500ms" },
});
const start = initialStatus(spec, 0);
const healthy = { requests: 100, successRate: 1, p99: 80 };

describe("rollout decisions", () => {
  it.each([
    ["before the interval: nothing", start, healthy, 29_999, undefined],
    [
      "healthy: next step",
      start,
      healthy,
      30_000,
      { phase: "Progressing", step: 2, weight: 50, message: "step 2/3: 50% to v3" },
    ],
    [
      "too few requests: wait",
      start,
      { requests: 5, successRate: 1, p99: 10 },
      30_000,
      { phase: "Progressing", step: 1, weight: 10, stepStartedAt: 30_000 },
    ],
    [
      "low success: roll back",
      start,
      { requests: 100, successRate: 0.9, p99: 10 },
      30_000,
      { phase: "RolledBack", weight: 0 },
    ],
    [
      "slow p99: roll back",
      start,
      { requests: 100, successRate: 1, p99: 900 },
      30_000,
      { phase: "RolledBack", weight: 0 },
    ],
    [
      "last step healthy: promote",
      { ...start, step: 3, weight: 100 },
      healthy,
      30_000,
      { phase: "Promoted", weight: 100 },
    ],
    ["paused: nothing", { ...start, phase: "Paused" as const }, healthy, 99_000, undefined],
  ])("%s", (_n, status, metrics, now, expected) => {
    const next = nextRolloutState(spec, status, metrics, now);
    if (expected === undefined) expect(next).toBeUndefined();
    else expect(next).toMatchObject(expected);
  });

  it("speaks the spec's units: step from 1, success rate in percent", () => {
    expect(start).toMatchObject({ step: 1, weight: 10 });
    expect(nextRolloutState(spec, start, { requests: 40, successRate: 0.975, p99: 10 }, 30_000)?.lastAnalysis).toEqual({
      requests: 40,
      successRate: 97.5,
      p99: 10,
    });
  });

  it("splits between stable and canary only", () => {
    expect(rolloutWeights(spec, { ...start, weight: 50 }, ["v1", "v2", "v3"])).toEqual([
      { version: "v1", weight: 50 },
      { version: "v2", weight: 0 },
      { version: "v3", weight: 50 },
    ]);
    expect(rolloutWeights(spec, { ...start, phase: "Promoted" }, ["v1", "v3"])).toEqual([
      { version: "v1", weight: 0 },
      { version: "v3", weight: 100 },
    ]);
  });

  it("validates steps and versions", () => {
    expect(RolloutSpec.safeParse({ ...spec, interval: "30s", steps: [50, 10] }).success).toBe(false);
    expect(RolloutSpec.safeParse({ ...spec, interval: "30s", canary: "v1" }).success).toBe(false);
  });
});
