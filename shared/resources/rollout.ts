import { z } from "zod";
import { Duration } from "../duration.ts";
import { envelope } from "./metadata.ts";

/** An automated canary (like Flagger): weight steps, analysis at each step, promotion or rollback. */
export const RolloutSpec = z
  .strictObject({
    targetRef: z.strictObject({ kind: z.literal("Service").default("Service"), name: z.string().min(1) }),
    stable: z.string().min(1),
    canary: z.string().min(1),
    steps: z.array(z.number().int().min(1).max(100)).min(1).max(20),
    interval: Duration.refine((ms) => ms >= 1000, "interval must be at least 1s"),
    analysis: z
      .strictObject({
        /** Canary requests a step needs (counted since it began) before its success rate and p99 are judged. */
        minRequests: z.number().int().min(0).default(20),
        /** Minimum share of non-5xx canary responses, in percent. */
        successRate: z.number().min(0).max(100).default(99),
        latencyP99: Duration.optional(),
        /**
         * How many analyses in a row a step may find fewer than `minRequests` (inconclusive, as Argo
         * Rollouts calls it) and wait another interval; the next inconclusive one rolls back, as
         * Flagger counts a check with no data as failed. Caps a step at (1 + this) intervals.
         */
        inconclusiveLimit: z.number().int().min(0).max(100).default(5),
      })
      .prefault({}),
  })
  .superRefine((s, ctx) => {
    if (s.stable === s.canary)
      ctx.addIssue({ code: "custom", path: ["canary"], message: "canary must differ from stable" });
    s.steps.forEach((w, i) => {
      if (i > 0 && w <= s.steps[i - 1])
        ctx.addIssue({ code: "custom", path: ["steps", i], message: "steps must increase" });
    });
  });

export const RolloutStatus = z.strictObject({
  phase: z.enum(["Progressing", "Paused", "Promoted", "RolledBack"]),
  /** The step running, from 1 (`steps[step - 1]` is its weight). */
  step: z.number().int(),
  weight: z.number(),
  message: z.string(),
  /** When the step began: its analyses count the canary's requests since then. */
  stepStartedAt: z.number(),
  /** Analyses of this step that found fewer than `minRequests` (absent: none). */
  inconclusive: z.number().int().optional(),
  lastTransition: z.string(),
  /** The last analysis: canary requests (and how many failed), success rate in percent (as `analysis.successRate`), p99 in ms. */
  lastAnalysis: z
    .strictObject({
      requests: z.number(),
      failures: z.number().optional(),
      successRate: z.number().nullable(),
      p99: z.number().nullable(),
    })
    .optional(),
});

export const Rollout = envelope("isomesh.dev/v1", "Rollout", RolloutSpec);
export type Rollout = z.infer<typeof Rollout>;
export type RolloutStatus = z.infer<typeof RolloutStatus>;
