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
const healthy = { requests: 100, failures: 0, successRate: 1, p99: 80 };
const seen = (requests: number, failures: number, p99 = 10) => ({
  requests,
  failures,
  successRate: requests ? (requests - failures) / requests : null,
  p99,
});

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
      "too few requests, none failed: wait one more interval, keeping the step's sample",
      start,
      seen(5, 0),
      30_000,
      {
        phase: "Progressing",
        step: 1,
        weight: 10,
        stepStartedAt: 0,
        inconclusive: 1,
        message: "waiting: 5 of 20 canary requests since step 1 began (inconclusive 1 of 5)",
      },
    ],
    [
      "a waiting step's next analysis is due an interval later",
      { ...start, inconclusive: 1 },
      seen(5, 0),
      59_999,
      undefined,
    ],
    [
      "enough requests at last: judged on all of them",
      { ...start, inconclusive: 1 },
      seen(22, 0),
      60_000,
      { phase: "Progressing", step: 2, weight: 50, stepStartedAt: 60_000 },
    ],
    [
      "too few requests after inconclusiveLimit waits: roll back (no evidence, no promotion)",
      { ...start, inconclusive: 5 },
      seen(19, 0),
      180_000,
      {
        phase: "RolledBack",
        weight: 0,
        message: "rolled back: 19 of 20 canary requests after 6 intervals (inconclusiveLimit 5)",
      },
    ],
    [
      "too few requests, but more failures than the budget allows of minRequests: roll back at once",
      start,
      seen(11, 5),
      30_000,
      {
        phase: "RolledBack",
        weight: 0,
        message:
          "rolled back: success rate 54.5% < 99%: 5 of 11 canary requests failed, and 99% of minRequests 20 allows 0",
      },
    ],
    [
      "low success: roll back",
      start,
      seen(100, 10),
      30_000,
      { phase: "RolledBack", weight: 0, message: "rolled back: success rate 90.0% < 99%" },
    ],
    ["slow p99: roll back", start, seen(100, 0, 900), 30_000, { phase: "RolledBack", weight: 0 }],
    [
      "too few requests and slow: wait (a p99 of a handful is noise)",
      start,
      seen(5, 0, 900),
      30_000,
      { phase: "Progressing", inconclusive: 1 },
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

  it("a new step or a rollback starts with no inconclusive analyses", () => {
    expect(nextRolloutState(spec, { ...start, inconclusive: 2 }, healthy, 90_000)).not.toHaveProperty("inconclusive");
    expect(nextRolloutState(spec, { ...start, inconclusive: 2 }, seen(3, 3), 90_000)).not.toHaveProperty(
      "inconclusive",
    );
  });

  it("allows exactly the failures successRate allows: 1 of 10 at 90% is not below 90%", () => {
    const ninety = RolloutSpec.parse({ ...spec, interval: "30s", analysis: { minRequests: 10, successRate: 90 } });
    expect(nextRolloutState(ninety, initialStatus(ninety, 0), seen(10, 1), 30_000)).toMatchObject({ step: 2 });
    expect(nextRolloutState(ninety, initialStatus(ninety, 0), seen(5, 1), 30_000)).toMatchObject({ inconclusive: 1 });
    expect(nextRolloutState(ninety, initialStatus(ninety, 0), seen(5, 2), 30_000)).toMatchObject({
      phase: "RolledBack",
    });
  });

  it("speaks the spec's units: step from 1, success rate in percent", () => {
    expect(start).toMatchObject({ step: 1, weight: 10 });
    const lenient = RolloutSpec.parse({ ...spec, interval: "30s", analysis: { successRate: 95 } });
    expect(nextRolloutState(lenient, start, seen(40, 1), 30_000)?.lastAnalysis).toEqual({
      requests: 40,
      failures: 1,
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
